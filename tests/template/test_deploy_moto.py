"""The rendered template creates a complete stack in moto's in-process CloudFormation.

moto proves the template is coherent (references resolve, no cycles, names are valid) and
that resources come out with the expected names; the properties themselves are asserted
on the template JSON in the other tests, because moto drops many of them.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from etlgen.model import PipelineConfig
from etlgen.packaging import build_package
from etlgen.render import build_template

REGION = "us-east-1"
ACCOUNT = "123456789012"
ARTIFACT_BUCKET = "etlgen-artifacts"
TEST_LAYER_PARAMETER = "/etlgen-test/pandas-layer-arn"

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS::")


def moto_compatible(template: dict[str, Any]) -> dict[str, Any]:
    """A copy adapted to moto's gaps; the real output never changes.

    - moto reads only `DefinitionString`: the definition object and its substitutions become
      the equivalent `Fn::Sub` [text, variables] string.
    - AWS (and moto) refuse to create parameters under the reserved `/aws/` path, so the
      public pandas-layer parameter is pointed at a test parameter holding a moto layer.
    - moto's `AWS::KMS::Key` reads tags in the KMS API's `TagKey`/`TagValue` shape instead of
      CloudFormation's `Key`/`Value`, and fails; the key's tags are dropped.
    """
    adapted = copy.deepcopy(template)
    machine = adapted["Resources"]["StateMachine"]["Properties"]
    machine["DefinitionString"] = {"Fn::Sub": [
        json.dumps(machine.pop("Definition")), machine.pop("DefinitionSubstitutions")
    ]}
    for name, parameter in adapted["Parameters"].items():
        if name.startswith("PandasLayer"):
            parameter["Default"] = TEST_LAYER_PARAMETER
    if "AlertKey" in adapted["Resources"]:
        adapted["Resources"]["AlertKey"]["Properties"].pop("Tags", None)
    return adapted


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def deploy(config: PipelineConfig) -> dict[str, Any]:
    bundle = build_package(config)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=ARTIFACT_BUCKET)
    s3.put_object(Bucket=ARTIFACT_BUCKET, Key=bundle.key, Body=bundle.data)
    layer = boto3.client("lambda", region_name=REGION).publish_layer_version(
        LayerName="pandas", Content={"ZipFile": bundle.data}
    )["LayerVersionArn"]
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=TEST_LAYER_PARAMETER, Value=layer, Type="String"
    )
    template = moto_compatible(build_template(config).to_dict())
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(
        StackName="etl", TemplateBody=json.dumps(template),
        Capabilities=["CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": "ArtifactBucket", "ParameterValue": ARTIFACT_BUCKET},
                    {"ParameterKey": "EnvironmentSuffix", "ParameterValue": "test"}],
    )
    return cloudformation.describe_stacks(StackName="etl")["Stacks"][0]


@pytest.mark.usefixtures("aws")
def test_stack_with_every_part_creates(configs: dict[str, PipelineConfig]) -> None:
    config = configs["all_options"]
    stack = deploy(config)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    base = "all-options-test"

    bucket = f"{base}-{ACCOUNT}-{REGION}"
    buckets = {b["Name"] for b in boto3.client("s3", region_name=REGION).list_buckets()["Buckets"]}
    assert {bucket, f"{bucket}-log"} <= buckets
    assert outputs["BucketName"] == bucket

    table = boto3.client("dynamodb", region_name=REGION).describe_table(
        TableName=f"{base}-status")["Table"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]

    lambda_ = boto3.client("lambda", region_name=REGION)
    for name in ("validate", "split", "process", "finalize"):
        function = lambda_.get_function(FunctionName=f"{base}-{name}")["Configuration"]
        assert function["Handler"] == f"handlers.{name}.lambda_handler"
        variables = function["Environment"]["Variables"]
        assert variables["BUCKET_NAME"] == bucket
        assert variables["STATUS_TABLE"] == f"{base}-status"
        assert variables.get("RESULTS_QUEUE_URL") == (
            outputs["ResultsQueueUrl"] if name == "finalize" else None)

    queues = boto3.client("sqs", region_name=REGION).list_queues()["QueueUrls"]
    assert {q.rsplit("/", 1)[1] for q in queues} == {f"{base}-events-dlq",
                                                     f"{base}-results.fifo"}
    topics = boto3.client("sns", region_name=REGION).list_topics()["Topics"]
    assert [t["TopicArn"] for t in topics] == [
        f"arn:aws:sns:{REGION}:{ACCOUNT}:{base}-alerts"]
    assert outputs["StateMachineArn"] == f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{base}"

    iam = boto3.client("iam", region_name=REGION)
    for role in ("validate", "split", "process", "finalize", "states", "events"):
        assert iam.get_role(RoleName=f"{base}-{role}-{REGION}")["Role"]["RoleName"]

    # The body's own `${Name}` variable and the template's resolve to the deployed names.
    body = boto3.client("cloudwatch", region_name=REGION).get_dashboard(
        DashboardName=f"{base}-pipeline-{REGION}")["DashboardBody"]
    assert "${" not in body
    metrics = [row for widget in json.loads(body)["widgets"]
               for row in widget["properties"]["metrics"]]
    assert ["AWS/States", "ExecutionsStarted", "StateMachineArn",
            outputs["StateMachineArn"]] in metrics
    assert [f"etlgen/{base}", "RowsIn", "Pipeline", base] in metrics
    assert ["AWS/Lambda", "Invocations", "FunctionName", f"{base}-validate"] in metrics
    assert [".", ".", ".", f"{base}-finalize"] in metrics
    assert ["AWS/DynamoDB", "ConsumedReadCapacityUnits", "TableName", f"{base}-status"] in metrics


@pytest.mark.usefixtures("aws")
def test_stack_without_optional_parts_creates(configs: dict[str, PipelineConfig]) -> None:
    stack = deploy(configs["all_off"])
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    outputs = {o["OutputKey"] for o in stack["Outputs"]}
    assert "ResultsQueueUrl" not in outputs and "AlertTopicArn" not in outputs
    queues = boto3.client("sqs", region_name=REGION).list_queues()["QueueUrls"]
    assert [q.rsplit("/", 1)[1] for q in queues] == ["all-off-test-events-dlq"]
    assert boto3.client("sns", region_name=REGION).list_topics()["Topics"] == []
    function = boto3.client("lambda", region_name=REGION).get_function(
        FunctionName="all-off-test-finalize")["Configuration"]
    assert "RESULTS_QUEUE_URL" not in function["Environment"]["Variables"]


def _resolved(value: Any, names: dict[str, str]) -> Any:
    """`Ref` and `Fn::Sub` texts resolved with `names`, as CloudFormation would."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return names[value["Ref"]]
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        text, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) \
            else value["Fn::Sub"]
        known = {**names, **{name: _resolved(item, names) for name, item in variables.items()}}
        return re.sub(r"\$\{([^}]+)\}", lambda match: known[match.group(1)], text)
    if isinstance(value, dict) and set(value) == {"Fn::Base64"}:
        return base64.b64encode(_resolved(value["Fn::Base64"], names).encode()).decode()
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, items = value["Fn::Join"]
        return separator.join(_resolved(item, names) for item in items)
    if isinstance(value, dict):
        return {key: _resolved(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolved(item, names) for item in value]
    return value


@pytest.mark.usefixtures("aws")
def test_the_catalog_resources_are_valid_glue_and_athena_requests(
        configs: dict[str, PipelineConfig]) -> None:
    """moto's CloudFormation skips AWS::Glue::* and AWS::Athena::* (it only warns "Tried to
    parse ... not supported"), so the stacks above create without them and without the
    outputs that refer to them. Here their properties go to moto's Glue and Athena APIs
    the way CloudFormation's handlers pass them, and read back."""
    template = build_template(configs["all_options"]).to_dict()["Resources"]
    names = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "EnvironmentSuffix": "test",
             "DataBucket": f"all-options-test-{ACCOUNT}-{REGION}",
             "CatalogDatabase": "ledger_test", "QueryWorkGroup": "all-options-test"}
    props = {logical_id: _resolved(resource["Properties"], names)
             for logical_id, resource in template.items()
             if resource["Type"].startswith(("AWS::Glue::", "AWS::Athena::"))}
    glue = boto3.client("glue", region_name=REGION)
    glue.create_database(**props["CatalogDatabase"])
    for view, parts in (("CatalogTable", "CatalogParts"), ("RejectedTable", "RejectedParts")):
        # a stack from before the views: the table under the view's name, with its partitions
        earlier = copy.deepcopy(props[parts])
        earlier["TableInput"]["Name"] = props[view]["TableInput"]["Name"]
        glue.create_table(**earlier)
        glue.update_table(**props[view])  # the deploy turns it into the view in place
    for table in ("CatalogParts", "RejectedParts", "CommitsTable"):
        glue.create_table(**props[table])
    tables = {t["Name"]: t for t in glue.get_tables(DatabaseName="ledger_test")["TableList"]}
    assert set(tables) == {"card_transactions_parts", "card_transactions_rejected_parts",
                           "card_transactions_commits", "card_transactions",
                           "card_transactions_rejected"}
    valid = tables["card_transactions_parts"]
    assert valid["StorageDescriptor"]["Location"] == (
        f"s3://all-options-test-{ACCOUNT}-{REGION}/curated/card_transactions/")
    assert [key["Name"] for key in valid["PartitionKeys"]] == ["transaction_date_month",
                                                               "source_file"]
    view = tables["card_transactions"]
    assert view["TableType"] == "VIRTUAL_VIEW"
    encoded = re.fullmatch(r"/\* Presto View: (\S+) \*/", view["ViewOriginalText"])
    assert encoded and json.loads(base64.b64decode(encoded[1]))["schema"] == "ledger_test"
    # a committed file's partition, as finalize will register it
    glue.batch_create_partition(
        DatabaseName="ledger_test", TableName="card_transactions_parts",
        PartitionInputList=[{"Values": ["2024-03", "transactions-0123456789abcdef"],
                             "StorageDescriptor": valid["StorageDescriptor"]}])
    assert len(glue.get_partitions(DatabaseName="ledger_test",
                                   TableName="card_transactions_parts")["Partitions"]) == 1

    athena = boto3.client("athena", region_name=REGION)
    workgroup = props["QueryWorkGroup"]
    athena.create_work_group(Name=workgroup["Name"],
                             Configuration=workgroup["WorkGroupConfiguration"],
                             Tags=workgroup["Tags"])
    configuration = athena.get_work_group(WorkGroup="all-options-test")["WorkGroup"][
        "Configuration"]
    assert configuration["ResultConfiguration"]["OutputLocation"] == (
        f"s3://all-options-test-{ACCOUNT}-{REGION}/athena-results/")
    for query in ("TotalsQuery", "RejectsQuery"):
        athena.create_named_query(**props[query])
    saved = athena.list_named_queries(WorkGroup="all-options-test")["NamedQueryIds"]
    assert len(saved) == 2
