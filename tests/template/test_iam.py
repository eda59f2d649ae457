"""IAM, statement by statement: least privilege, guardrail Denies, no wildcard actions."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from etlgen.model import AlertsConfig, PipelineConfig, ResultsQueueConfig

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
        "ReadObjects": allow(READ, [objects("incoming/")]),
        "StatusTable": allow(["dynamodb:GetItem", "dynamodb:UpdateItem"], [TABLE]),
        "WriteLogs": logs_of("Validate"),
        "Tracing": allow(TRACING, ["*"]),
    }


def test_split_role(base_template: dict[str, Any]) -> None:
    assert role_statements(base_template, "SplitRole") == {
        "ReadObjects": allow(READ, [objects("incoming/")]),
        "WriteLogs": logs_of("Split"),
        "Tracing": allow(TRACING, ["*"]),
    }


def test_process_role(base_template: dict[str, Any]) -> None:
    """Process stages its parts; it never writes where readers look."""
    assert role_statements(base_template, "ProcessRole") == {
        "ReadObjects": allow(READ, [objects("incoming/"), objects("staging/")]),
        "WriteObjects": allow(WRITE, [objects("staging/")]),
        "StatusTable": allow(["dynamodb:GetItem", "dynamodb:UpdateItem"], [TABLE]),
        "WriteLogs": logs_of("Process"),
        "Tracing": allow(TRACING, ["*"]),
    }


def test_finalize_role(base_template: dict[str, Any]) -> None:
    """Finalize publishes: it lists only under the output prefixes, reads staged parts,
    copies them in, deletes what the manifest will not list, and removes the staged parts."""
    assert role_statements(base_template, "FinalizeRole") == {
        "ReadObjects": allow(READ, [objects("staging/")]),
        "WriteObjects": allow(["s3:PutObject"], [objects("processed/"), objects("rejected/")]),
        "DeleteObjects": allow(["s3:DeleteObject"], [
            objects("processed/"), objects("rejected/"), objects("staging/")]),
        "ListOutputs": allow(["s3:ListBucket"], [DATA_BUCKET], {
            "StringLike": {"s3:prefix": ["processed/*", "rejected/*"]}}),
        "StatusTable": allow(["dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"],
                             [TABLE]),
        "SendResults": allow(["sqs:SendMessage"], [{"Fn::GetAtt": ["ResultsQueue", "Arn"]}]),
        "WriteLogs": logs_of("Finalize"),
        "Tracing": allow(TRACING, ["*"]),
    }


def test_finalize_sends_nothing_without_the_queue(base_config: PipelineConfig) -> None:
    config = dataclasses.replace(base_config, results_queue=ResultsQueueConfig(enabled=False))
    assert "SendResults" not in role_statements(template_of(config), "FinalizeRole")


def test_prefixes_follow_the_config(base_config: PipelineConfig) -> None:
    config = changed(changed(base_config, "input", prefix="landing/"),
                     "output", processed_prefix="curated/", rejected_prefix="quarantine/",
                     staging_prefix="pending*/")
    template = template_of(config)
    assert role_statements(template, "SplitRole")["ReadObjects"]["Resource"] == [
        objects("landing/")]
    finalize = role_statements(template, "FinalizeRole")
    assert finalize["WriteObjects"]["Resource"] == [objects("curated/"), objects("quarantine/")]
    assert finalize["ListOutputs"]["Condition"] == {
        "StringLike": {"s3:prefix": ["curated/*", "quarantine/*"]}}
    assert finalize["DeleteObjects"]["Resource"][2] == {
        "Fn::Sub": "${DataBucket.Arn}/pending${!*}/*"}
    assert role_statements(template, "ProcessRole")["WriteObjects"]["Resource"] == [
        {"Fn::Sub": "${DataBucket.Arn}/pending${!*}/*"}]


def test_a_star_in_an_output_prefix_is_literal_in_the_list_condition(
        base_config: PipelineConfig) -> None:
    template = template_of(changed(base_config, "output", processed_prefix="out*/"))
    assert role_statements(template, "FinalizeRole")["ListOutputs"]["Condition"] == {
        "StringLike": {"s3:prefix": ["out${*}/*", "rejected/*"]}}


def test_a_star_in_a_prefix_is_literal_in_arns(base_config: PipelineConfig) -> None:
    template = template_of(changed(base_config, "input", prefix="in*/"))
    assert role_statements(template, "ValidateRole")["ReadObjects"]["Resource"] == [
        {"Fn::Sub": "${DataBucket.Arn}/in${!*}/*"}]


@pytest.mark.parametrize("alerts", [True, False])
def test_state_machine_role(base_config: PipelineConfig, alerts: bool) -> None:
    config = dataclasses.replace(base_config, alerts=AlertsConfig(enabled=alerts))
    functions = [{"Fn::GetAtt": [f"{f}Function", "Arn"]} for f in FUNCTIONS]
    versions = [{"Fn::Sub": f"${{{f}Function.Arn}}:*"} for f in FUNCTIONS]
    expected = {
        "InvokeFunctions": allow(["lambda:InvokeFunction"], functions + versions),
        "RecordFailure": allow(["dynamodb:UpdateItem"], [TABLE]),
        "Tracing": allow(TRACING, ["*"]),
        "LogDelivery": allow(LOG_DELIVERY, ["*"]),
    }
    if alerts:
        expected["PublishAlerts"] = allow(["sns:Publish"], [{"Ref": "AlertTopic"}])
        expected["UseAlertKey"] = allow(["kms:GenerateDataKey", "kms:Decrypt"],
                                        [{"Fn::GetAtt": ["AlertKey", "Arn"]}])
    assert role_statements(template_of(config), "StateMachineRole") == expected


def test_rule_role_may_only_start_this_state_machine(base_template: dict[str, Any]) -> None:
    assert role_statements(base_template, "ObjectCreatedRuleRole") == {
        "StartPipeline": allow(["states:StartExecution"], [{"Ref": "StateMachine"}]),
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
    assert props["ManagedPolicyArns"] == [{"Ref": "GuardrailPolicy"}]
    assert props["RoleName"]["Fn::Sub"].endswith("-${AWS::Region}")


def test_guardrail_denies_destructive_actions(base_template: dict[str, Any]) -> None:
    statements = base_template["Resources"]["GuardrailPolicy"]["Properties"][
        "PolicyDocument"]["Statement"]
    assert {s["Effect"] for s in statements} == {"Deny"}
    denies = {s["Sid"]: s for s in statements}
    bucket_changes = denies["DenyBucketChanges"]
    assert {"s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:PutBucketPolicy",
            "s3:PutLifecycleConfiguration"} <= set(bucket_changes["Action"])
    assert bucket_changes["Resource"] == [DATA_BUCKET,
                                          {"Fn::GetAtt": ["AccessLogBucket", "Arn"]}]
    incoming = denies["DenyIncomingChanges"]
    assert {"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObject"} <= set(
        incoming["Action"])
    assert incoming["Resource"] == [objects("incoming/")]
    assert denies["DenyVersionDeletion"]["Resource"] == [{"Fn::Sub": "${DataBucket.Arn}/*"}]
    table = denies["DenyTableChanges"]
    assert {"dynamodb:DeleteTable", "dynamodb:DeleteBackup", "dynamodb:UpdateTable"} <= set(
        table["Action"])
    assert table["Resource"] == [TABLE, {"Fn::Sub": "${StatusTable.Arn}/backup/*"}]
    assert {"logs:DeleteLogGroup", "logs:PutRetentionPolicy"} <= set(
        denies["DenyLogChanges"]["Action"])
    assert {"sqs:DeleteQueue", "sqs:PurgeQueue"} <= set(denies["DenyQueueChanges"]["Action"])
    assert denies["DenyQueueChanges"]["Resource"] == [
        {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]},
        {"Fn::GetAtt": ["ResultsQueue", "Arn"]},
    ]
    assert {"sns:DeleteTopic", "kms:ScheduleKeyDeletion"} <= set(
        denies["DenyAlertChanges"]["Action"])
    assert "DenyWorkflowChanges" in denies


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
