"""IAM, statement by statement: least privilege, guardrail Denies, no wildcard actions."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest

from etlgen.model import AlertsConfig, CatalogConfig, PipelineConfig, ResultsQueueConfig

from .conftest import CONFIG_FILES, changed, resources_of, template_of

TABLE = {"Fn::GetAtt": ["StatusTable", "Arn"]}
DATA_BUCKET = {"Fn::GetAtt": ["DataBucket", "Arn"]}
TRACING = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
           "xray:GetSamplingTargets"]
LOG_DELIVERY = ["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"]
READ = ["s3:GetObject", "s3:GetObjectVersion"]
WRITE = ["s3:PutObject", "s3:AbortMultipartUpload"]
FUNCTIONS = ("Validate", "Split", "Process", "Finalize")


def objects(prefix: str) -> dict[str, str]:
    return {"Fn::Sub": f"${{DataBucket.Arn}}/{prefix}*"}


def allow(actions: list[str], resources: list[Any], condition: Any = None) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Action": actions, "Resource": resources}
    if condition is not None:
        statement["Condition"] = condition
    return statement


GLUE = "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}"
CATALOG = allow(
    ["glue:GetTable", "glue:GetPartitions", "glue:BatchCreatePartition",
     "glue:BatchDeletePartition"],
    [{"Fn::Sub": f"{GLUE}:catalog"}, {"Fn::Sub": f"{GLUE}:database/${{CatalogDatabase}}"},
     {"Fn::Sub": f"{GLUE}:table/${{CatalogDatabase}}/${{CatalogParts}}"},
     {"Fn::Sub": f"{GLUE}:table/${{CatalogDatabase}}/${{RejectedParts}}"}])


def role_statements(template: dict[str, Any], role: str) -> dict[str, dict[str, Any]]:
    [policy] = template["Resources"][role]["Properties"]["Policies"]
    statements = policy["PolicyDocument"]["Statement"]
    by_sid = {s.pop("Sid"): s for s in (dict(s) for s in statements)}
    assert len(by_sid) == len(statements), "every statement has its own Sid"
    return by_sid


def logs_of(function: str) -> dict[str, Any]:
    return allow(["logs:CreateLogStream", "logs:PutLogEvents"],
                 [{"Fn::GetAtt": [f"{function}LogGroup", "Arn"]}])


def test_validate_role(base_template: dict[str, Any]) -> None:
    assert role_statements(base_template, "ValidateRole") == {
        "Read": allow(READ, [objects("incoming/")]),
        "Status": allow(["dynamodb:GetItem", "dynamodb:UpdateItem"], [TABLE]),
        "Logs": logs_of("Validate"),
    }


def test_split_role(base_template: dict[str, Any]) -> None:
    assert role_statements(base_template, "SplitRole") == {
        "Read": allow(READ, [objects("incoming/")]),
        "Logs": logs_of("Split"),
    }


def test_process_role(base_template: dict[str, Any]) -> None:
    """Process stages its parts; it never writes where readers look."""
    assert role_statements(base_template, "ProcessRole") == {
        "Read": allow(READ, [objects("incoming/"), objects("staging/")]),
        "Write": allow(WRITE, [objects("staging/")]),
        "Status": allow(["dynamodb:GetItem", "dynamodb:UpdateItem"], [TABLE]),
        "Logs": logs_of("Process"),
    }


def test_finalize_role(base_template: dict[str, Any]) -> None:
    """Finalize publishes: it lists only under the output prefixes, reads staged parts,
    copies them in, deletes what the manifest will not list, and removes the staged parts.
    Its commit pointers lie under the processed prefix (`processed/_commits/<table>/`), so
    the one Write statement covers them. It reads them and the manifests (is the file
    already committed for readers?), nothing else of the output prefixes."""
    assert role_statements(base_template, "FinalizeRole") == {
        "Read": allow(READ, [objects("staging/"), objects("processed/_commits/"),
                             objects("processed/_manifests/")]),
        "Write": allow(["s3:PutObject"], [objects("processed/"), objects("rejected/")]),
        "Delete": allow(["s3:DeleteObject"], [
            objects("processed/"), objects("rejected/"), objects("staging/")]),
        "List": allow(["s3:ListBucket"], [DATA_BUCKET], {
            "StringLike": {"s3:prefix": ["processed/*", "rejected/*"]}}),
        "Versions": allow(["s3:ListBucketVersions"], [DATA_BUCKET], {
            "StringLike": {"s3:prefix": ["incoming/*"]}}),
        "Status": allow(["dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"],
                             [TABLE]),
        "Results": allow(["sqs:SendMessage"], [{"Fn::GetAtt": ["ResultsQueue", "Arn"]}]),
        "Catalog": CATALOG,
        "Logs": logs_of("Finalize"),
    }


def test_only_finalize_touches_the_catalog_and_only_its_partitions(
        base_template: dict[str, Any], base_config: PipelineConfig) -> None:
    """Registering partitions: the four Glue actions on the catalog, the database and the
    two tables (test_finalize_role), in no other role; no role queries Athena."""
    for role in resources_of(base_template, "AWS::IAM::Role"):
        actions = {action for statement in role_statements(base_template, role).values()
                   for action in statement["Action"]}
        catalog = {action for action in actions if action.startswith(("glue:", "athena:"))}
        assert catalog == (set(CATALOG["Action"]) if role == "FinalizeRole" else set()), role
    glue_arns = json.dumps([statement["Resource"] for role in resources_of(
        base_template, "AWS::IAM::Role") for statement in role_statements(
        base_template, role).values() if any(a.startswith("glue:") for a in statement["Action"])])
    for reader_side in ("CatalogTable", "RejectedTable", "CommitsTable"):
        assert "${" + reader_side + "}" not in glue_arns, \
            "no role may change the views or the commits table"
    off = dataclasses.replace(base_config, catalog=CatalogConfig(enabled=False))
    assert "Catalog" not in role_statements(template_of(off), "FinalizeRole")
    assert "Versions" not in role_statements(template_of(off), "FinalizeRole"), \
        "no pointer, no version order to ask for"


def test_finalize_sends_nothing_without_the_queue(base_config: PipelineConfig) -> None:
    config = dataclasses.replace(base_config, results_queue=ResultsQueueConfig(enabled=False))
    assert "Results" not in role_statements(template_of(config), "FinalizeRole")


def test_prefixes_follow_the_config(base_config: PipelineConfig) -> None:
    config = changed(changed(base_config, "input", prefix="landing/"),
                     "output", processed_prefix="curated/", rejected_prefix="quarantine/",
                     staging_prefix="pending*/")
    template = template_of(config)
    assert role_statements(template, "SplitRole")["Read"]["Resource"] == [
        objects("landing/")]
    finalize = role_statements(template, "FinalizeRole")
    assert finalize["Write"]["Resource"] == [objects("curated/"), objects("quarantine/")]
    assert finalize["List"]["Condition"] == {
        "StringLike": {"s3:prefix": ["curated/*", "quarantine/*"]}}
    assert finalize["Delete"]["Resource"][2] == {
        "Fn::Sub": "${DataBucket.Arn}/pending${!*}/*"}
    assert role_statements(template, "ProcessRole")["Write"]["Resource"] == [
        {"Fn::Sub": "${DataBucket.Arn}/pending${!*}/*"}]


def test_a_star_in_an_output_prefix_is_literal_in_the_list_condition(
        base_config: PipelineConfig) -> None:
    template = template_of(changed(base_config, "output", processed_prefix="out*/"))
    assert role_statements(template, "FinalizeRole")["List"]["Condition"] == {
        "StringLike": {"s3:prefix": ["out${*}/*", "rejected/*"]}}


def test_a_star_in_a_prefix_is_literal_in_arns(base_config: PipelineConfig) -> None:
    template = template_of(changed(base_config, "input", prefix="in*/"))
    assert role_statements(template, "ValidateRole")["Read"]["Resource"] == [
        {"Fn::Sub": "${DataBucket.Arn}/in${!*}/*"}]


@pytest.mark.parametrize("alerts", [True, False])
def test_state_machine_role(base_config: PipelineConfig, alerts: bool) -> None:
    config = dataclasses.replace(base_config, alerts=AlertsConfig(enabled=alerts))
    functions = [{"Fn::GetAtt": [f"{f}Function", "Arn"]} for f in FUNCTIONS]
    expected = {  # only the unqualified ARNs the Tasks name: no version or alias
        "Invoke": allow(["lambda:InvokeFunction"], functions),
        "Record": allow(["dynamodb:UpdateItem"], [TABLE]),
        "LogDelivery": allow(LOG_DELIVERY, ["*"]),
    }
    if alerts:
        expected["Alert"] = allow(["sns:Publish"], [{"Ref": "AlertTopic"}])
        expected["AlertKey"] = allow(["kms:GenerateDataKey", "kms:Decrypt"],
                                        [{"Fn::GetAtt": ["AlertKey", "Arn"]}])
    assert role_statements(template_of(config), "StateMachineRole") == expected


def test_rule_role_may_only_start_this_state_machine(base_template: dict[str, Any]) -> None:
    assert role_statements(base_template, "ObjectCreatedRuleRole") == {
        "Start": allow(["states:StartExecution"], [{"Ref": "StateMachine"}]),
    }


@pytest.mark.parametrize(("role", "service", "same_account"), [
    *((f"{f}Role", "lambda.amazonaws.com", False) for f in FUNCTIONS),
    ("StateMachineRole", "states.amazonaws.com", True),
    ("ObjectCreatedRuleRole", "events.amazonaws.com", True),
])
def test_trust_policies(base_template: dict[str, Any], role: str, service: str,
                        same_account: bool) -> None:
    props = base_template["Resources"][role]["Properties"]
    [statement] = props["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": [service]}
    assert statement["Action"] == ["sts:AssumeRole"]
    assert ("Condition" in statement) is same_account
    # the roles that trace share the tracing policy; the rule's role does not trace
    assert props["ManagedPolicyArns"] == [{"Ref": "GuardrailPolicy"}] + (
        [] if role == "ObjectCreatedRuleRole" else [{"Ref": "TracingPolicy"}])
    assert props["RoleName"]["Fn::Sub"].endswith("-${AWS::Region}")


def test_tracing_is_one_shared_policy(base_template: dict[str, Any]) -> None:
    policy = base_template["Resources"]["TracingPolicy"]
    assert policy["Type"] == "AWS::IAM::ManagedPolicy"
    assert policy["Properties"]["ManagedPolicyName"] == {
        "Fn::Sub": "minimal-${EnvironmentSuffix}-tracing-${AWS::Region}"}
    [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement == {"Sid": "Tracing", **allow(TRACING, ["*"])}


def test_guardrail_denies_destructive_actions(base_template: dict[str, Any]) -> None:
    statements = base_template["Resources"]["GuardrailPolicy"]["Properties"][
        "PolicyDocument"]["Statement"]
    assert {s["Effect"] for s in statements} == {"Deny"}
    denies = {s["Sid"]: s for s in statements}
    bucket_changes = denies["Buckets"]
    assert {"s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:PutBucketPolicy",
            "s3:PutLifecycleConfiguration"} <= set(bucket_changes["Action"])
    assert bucket_changes["Resource"] == [DATA_BUCKET,
                                          {"Fn::GetAtt": ["AccessLogBucket", "Arn"]}]
    incoming = denies["Incoming"]
    assert {"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObject"} <= set(
        incoming["Action"])
    assert incoming["Resource"] == [objects("incoming/")]
    assert denies["Versions"]["Resource"] == [{"Fn::Sub": "${DataBucket.Arn}/*"}]
    table = denies["Table"]
    assert {"dynamodb:DeleteTable", "dynamodb:DeleteBackup", "dynamodb:UpdateTable"} <= set(
        table["Action"])
    assert table["Resource"] == [TABLE, {"Fn::Sub": "${StatusTable.Arn}/backup/*"}]
    assert {"logs:DeleteLogGroup", "logs:PutRetentionPolicy"} <= set(
        denies["LogGroups"]["Action"])
    assert {"sqs:DeleteQueue", "sqs:PurgeQueue"} <= set(denies["Queues"]["Action"])
    assert denies["Queues"]["Resource"] == [
        {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]},
        {"Fn::GetAtt": ["ResultsQueue", "Arn"]},
    ]
    assert {"sns:DeleteTopic", "kms:ScheduleKeyDeletion"} <= set(
        denies["Alerts"]["Action"])
    assert "Workflow" in denies


def _policy_documents(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for rid, resource in template["Resources"].items():
        props = resource["Properties"]
        for policy in props.get("Policies", []):
            yield rid, policy["PolicyDocument"]
        for key in ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument"):
            if key in props:
                yield rid, props[key]


@pytest.mark.parametrize("label", sorted(CONFIG_FILES))
def test_no_wildcard_action_and_star_resources_only_where_aws_requires(
    label: str, templates: dict[str, dict[str, Any]],
) -> None:
    template = templates[label]
    for rid, document in _policy_documents(template):
        for statement in document["Statement"]:
            actions = statement["Action"]
            actions = [actions] if isinstance(actions, str) else actions
            assert "*" not in actions, (rid, statement)
            wildcards = [a for a in actions if "*" in a]
            if wildcards:
                # Allowed: Denies that must cover future actions too (TLS-only policies),
                # and the root statement of the key policy that delegates to IAM.
                assert (statement["Effect"] == "Deny" and statement.get("Sid") ==
                        "DenyInsecureTransport") or (rid == "AlertKey" and statement["Sid"] ==
                                                     "EnableIamPolicies"), (rid, statement)
            resources = statement.get("Resource", [])
            if "*" in resources and statement["Effect"] == "Allow":
                assert rid == "AlertKey" or statement["Sid"] in {"Tracing", "LogDelivery"}, (
                    rid, statement)


def test_every_role_is_one_of_the_six(templates: dict[str, dict[str, Any]]) -> None:
    roles = set(resources_of(templates["all_options"], "AWS::IAM::Role"))
    assert roles == {*(f"{f}Role" for f in FUNCTIONS), "StateMachineRole",
                     "ObjectCreatedRuleRole"}
