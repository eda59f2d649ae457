"""Each function runs its step with only its own environment and the packaged settings.

The template gives each function only the deploy-time variables it reads (the results
queue's URL only to finalize, the one step that sends results; `function_variables`). Here
every step of a whole file runs against moto with `Deps.from_env` built from *its*
function's variables (resolved as CloudFormation would) and the `settings.json` of the
handlers zip the template names, as on Lambda: a step that needs a variable its function
lacks fails here.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from etlgen.config import load_config
from etlgen.packaging import build_package
from etlgen.render import build_template
from handlers import finalize, process, split, validate
from handlers.deps import Deps
from handlers.status import COMPLETED
from tests.template.test_deploy_moto import _resolved

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ACCOUNT = "123456789012"
SUFFIX = "test"


@pytest.mark.parametrize("config_name", ["all_options", "all_off"])
def test_every_step_runs_with_only_its_functions_variables(config_name: str,
                                                           tmp_path: Path) -> None:
    config = load_config(ROOT / "tests" / "configs" / f"{config_name}.yaml")
    package = build_package(config)
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        archive.extractall(tmp_path)
    # test-only: the zip's schema by its extracted path (on Lambda, the package's own file)
    settings_file = tmp_path / "handlers" / "settings.json"
    packaged = json.loads(settings_file.read_text(encoding="utf-8"))
    packaged["SCHEMA_FILE"] = str(tmp_path / "handlers" / packaged["SCHEMA_FILE"])
    settings_file.write_text(json.dumps(packaged), encoding="utf-8")
    resources = build_template(config, handlers_key=package.key).to_dict()["Resources"]
    base = f"{config.name}-{SUFFIX}"
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        bucket = f"{base}-{ACCOUNT}-{REGION}"
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        table = resources["StatusTable"]["Properties"]
        dynamodb.create_table(TableName=f"{base}-status", BillingMode="PAY_PER_REQUEST",
                              KeySchema=table["KeySchema"],
                              AttributeDefinitions=table["AttributeDefinitions"])
        sqs = boto3.client("sqs", region_name=REGION)
        names = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "EnvironmentSuffix": SUFFIX,
                 "DataBucket": bucket, "StatusTable": f"{base}-status"}
        if config.results_queue.enabled:
            names["ResultsQueue"] = sqs.create_queue(
                QueueName=f"{base}-results.fifo",
                Attributes={"FifoQueue": "true"})["QueueUrl"]
        if config.catalog.enabled:
            glue = boto3.client("glue", region_name=REGION)
            names["CatalogDatabase"] = f"{config.database_name}_{SUFFIX}"
            glue.create_database(**_resolved(resources["CatalogDatabase"]["Properties"], names))
            for logical_id in ("CatalogParts", "RejectedParts", "CommitsTable"):
                glue.create_table(**_resolved(resources[logical_id]["Properties"], names))

        def deps(step: str) -> Deps:
            variables = resources[f"{step.capitalize()}Function"]["Properties"][
                "Environment"]["Variables"]
            environment = _resolved(variables, names)
            environment["CHUNK_SIZE_BYTES"] = "4000"  # test-only: small chunks
            return Deps.from_env(environment, tmp_path / "handlers")

        data = (ROOT / "samples" / "transactions.csv").read_bytes()
        key = f"{config.input.prefix}transactions.csv"
        version = s3.put_object(Bucket=bucket, Key=key, Body=data)["VersionId"]
        source = {"bucket": bucket, "key": key, "version_id": version, "size": len(data)}
        file = validate.handle({"source": source, "execution_id": "exec-1"}, deps("validate"))
        plan = split.handle({"file": file}, deps("split"))
        assert plan["chunk_count"] > 1
        process_deps = deps("process")
        for chunk in plan["chunks"]:
            process.handle({"file": file, "chunk": chunk}, process_deps)
        summary = finalize.handle({"file": file, "chunk_count": plan["chunk_count"],
                                   "execution_id": "exec-1"}, deps("finalize"))

        assert summary["status"] == COMPLETED
        assert summary["rows_in"] == 200  # the sample's records (some span lines)
        assert summary["rows_valid"] + summary["rows_rejected"] == 200
        committed = s3.list_objects_v2(Bucket=bucket, Prefix=config.output.processed_prefix)
        assert committed["KeyCount"] > 0
        if config.results_queue.enabled:
            messages = sqs.receive_message(QueueUrl=names["ResultsQueue"],
                                           MaxNumberOfMessages=10)["Messages"]
            assert len(messages) == 1
        if config.catalog.enabled:
            partitions = glue.get_partitions(DatabaseName=names["CatalogDatabase"],
                                             TableName=f"{config.table_name}_parts")[
                "Partitions"]
            assert partitions
            pointers = s3.list_objects_v2(
                Bucket=bucket, Prefix=f"{config.output.processed_prefix}_commits/")
            assert pointers["KeyCount"] == 1, "the file's commit pointer"
        assert {deps(step).settings.results_queue_url for step in ("validate", "split",
                                                                     "process")} == {""}
