"""A function deployed from the handlers zip gets the settings a local run of the same
config gets: the zip's `settings.json` under the template's environment, resolved as
CloudFormation resolves it, differs from the local runner's mapping only in the names of
deployed resources."""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from etlgen.config import load_config
from etlgen.local.runner import WorkFolder, handler_environment
from etlgen.packaging import build_package
from etlgen.render import build_template
from handlers.identity import run_identity
from handlers.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = [ROOT / "pipeline.yaml", *sorted((ROOT / "tests" / "configs").glob("*.yaml"))]
DEPLOYED = {"EnvironmentSuffix": "test", "DataBucket": "data-bucket",
            "StatusTable": "status-table", "ResultsQueue": "https://sqs/results.fifo",
            "CatalogDatabase": "database_test"}
DEPLOY_TIME_FIELDS = {"pipeline_name", "metrics_namespace", "bucket_name", "status_table",
                      "results_queue_url", "catalog_database"}


def _resolved(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return DEPLOYED[value["Ref"]]
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        return re.sub(r"\$\{([^}]+)\}", lambda match: DEPLOYED[match.group(1)], value["Fn::Sub"])
    assert isinstance(value, str), value
    return value


@pytest.mark.parametrize("path", CONFIGS, ids=lambda path: path.stem)
def test_a_deployed_function_gets_the_local_runners_settings(path: Path, tmp_path: Path) -> None:
    config = load_config(path)
    package = build_package(config)
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        archive.extractall(tmp_path / "zip")
    resources = build_template(config, handlers_key=package.key).to_dict()["Resources"]
    local = Settings.from_env(handler_environment(config, WorkFolder(tmp_path / "work")))
    functions = [resource for resource in resources.values()
                 if resource["Type"] == "AWS::Lambda::Function"]
    assert len(functions) == 4
    for function in functions:
        assert function["Properties"]["Code"]["S3Key"] == package.key
        environment = {name: _resolved(value) for name, value in
                       function["Properties"]["Environment"]["Variables"].items()}
        deployed = Settings.deployed(environment, tmp_path / "zip" / "handlers")
        differing = {field.name for field in dataclasses.fields(Settings)
                     if getattr(deployed, field.name) != getattr(local, field.name)}
        assert differing <= DEPLOY_TIME_FIELDS
        # the deployed names are the stack's, with the environment suffix
        assert deployed.pipeline_name == f"{config.name}-test"
        assert deployed.metrics_namespace == f"etlgen/{config.name}-test"
        assert (deployed.bucket_name, deployed.status_table) == ("data-bucket", "status-table")
        # only the step that sends results knows the queue
        sends = function["Properties"]["Handler"] == "handlers.finalize.lambda_handler"
        assert deployed.results_queue_url == (
            DEPLOYED["ResultsQueue"] if config.results_queue.enabled and sends else "")
        assert deployed.catalog_database == (
            "database_test" if config.catalog.enabled else "")
        assert deployed == dataclasses.replace(
            local, **{name: getattr(deployed, name) for name in DEPLOY_TIME_FIELDS})
        # the chunk identity (what decides a chunk's rows) is the local run's
        if not config.catalog.enabled:
            assert run_identity(deployed, config.schema).file == (
                run_identity(local, config.schema).file)
        assert run_identity(deployed, config.schema).chunks == (
            run_identity(local, config.schema).chunks)
