"""The README's deploy path, run as written with the real AWS CLI against moto_server.

`etlgen validate/package/render` and `aws s3 mb/sync`, `aws cloudformation deploy` run as
subprocesses, taken verbatim from the README's "Deploy to AWS" shell blocks, against one
`moto_server` on 127.0.0.1 for the whole module: create, an update after a row-schema
change (every function must then run the new zip), an update after a runtime and
architecture change (every function must then get the layer of the new runtime and
architecture), a redeploy of an unchanged render, the sample upload, and the README's
teardown followed by a re-create with the same suffix.

moto's gaps are adapted here only, in `adapt_for_moto`, never in the product: each
adaptation says which gap it covers. Assertions read the stack and the functions back
through boto3 pointed at the same server.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from .conftest import ROOT

# One worker runs the whole module, in order (pytest-xdist `--dist loadfile`, in
# pyproject): one server, one stack, one sequence of deploys.
pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

# Not us-east-1: awscli v1 sends SQS commands in the regions it knows to their legacy
# `queue.amazonaws.com` hosts, whatever AWS_ENDPOINT_URL says (its overridesslcommonname
# customization); eu-central-2 is not on that list, so the README's teardown reaches moto.
REGION = "eu-central-2"
STACK = "etl-dev"
BASE = "transactions-dev"
DATA_BUCKET = f"{BASE}-123456789012-{REGION}"  # moto's account id
README = (ROOT / "README.md").read_text(encoding="utf-8")
FUNCTIONS = ("validate", "split", "process", "finalize")
COMPACT = (",", ":")


def readme_blocks() -> dict[str, str]:
    """The shell blocks of the README's deploy section, by what they do."""
    section = README.split("## Deploy to AWS", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)\n```", section, re.DOTALL)
    markers = {"artifacts": "aws s3 mb", "build": "etlgen package",
               "deploy": "aws cloudformation deploy", "sample": "aws s3 cp samples/",
               "delete": "delete-stack", "cleanup": "delete-table"}
    found = {}
    for name, marker in markers.items():
        matching = [block for block in blocks if marker in block]
        assert len(matching) == 1, f"README deploy section: one block with {marker!r}"
        found[name] = matching[0]
    return found


def statements(block: str) -> list[str]:
    """A block's commands, backslash continuations joined."""
    return [s for s in re.sub(r"\\\n\s*", " ", block).splitlines() if s.strip()]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


SERVER_LOG: list[Path] = []


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    server = Path(sys.executable).with_name("moto_server")
    command = [str(server)] if server.exists() else [sys.executable, "-m", "moto.server"]
    log = tmp_path_factory.mktemp("moto") / "server.log"
    SERVER_LOG[:] = [log]
    process = subprocess.Popen([*command, "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=log.open("w"))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port),
                                                                        timeout=1):
                break
            assert process.poll() is None, "moto_server exited"
            assert time.monotonic() < deadline, "moto_server did not start"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of what the README's commands read, run from as the repository root."""
    work = tmp_path_factory.mktemp("deploy")
    shutil.copy(ROOT / "pipeline.yaml", work / "pipeline.yaml")
    shutil.copytree(ROOT / "schemas", work / "schemas")
    shutil.copytree(ROOT / "samples", work / "samples")
    (work / ".venv").symlink_to(sys.prefix)  # the README's teardown runs .venv/bin/python
    return work


@pytest.fixture(scope="module")
def environment(endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("aws-home")
    (home / "config").write_text("", encoding="utf-8")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("AWS_")}
    env.update({
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "config"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    })
    return env


@pytest.fixture(scope="module")
def aws(endpoint: str) -> Any:
    def client(service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=endpoint,
                            aws_access_key_id="testing", aws_secret_access_key="testing")
    return client


def run_script(script: str, workdir: Path, environment: dict[str, str]) -> str:
    done = subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], cwd=workdir,
                          env=environment, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        server = SERVER_LOG[0].read_text(errors="replace")[-4000:] if SERVER_LOG else ""
        pytest.fail(f"{script}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
                    f"\n--- moto_server (end)\n{server}")
    return done.stdout


def adapt_for_moto(path: Path, aws: Any) -> None:
    """moto's gaps, adapted in the rendered file between `etlgen render` and `deploy`.

    moto's CloudFormation skips `AWS::Glue::*` and `AWS::Athena::*` resources (and drops
    the outputs that refer to them) without failing: nothing to adapt for them here; their
    properties go through moto's Glue and Athena APIs in test_deploy_moto.py."""
    template = json.loads(path.read_text(encoding="utf-8"))
    resources = template["Resources"]
    # moto's state machine reads only `DefinitionString`: the same definition and
    # substitutions as an equivalent `Fn::Sub` [text, variables].
    machine = resources["StateMachine"]["Properties"]
    machine["DefinitionString"] = {"Fn::Sub": [
        json.dumps(machine.pop("Definition"), separators=COMPACT),
        machine.pop("DefinitionSubstitutions")]}
    # moto's KMS key reads tags in the KMS API shape (TagKey/TagValue) and fails on
    # CloudFormation's Key/Value.
    if "AlertKey" in resources:
        resources["AlertKey"]["Properties"].pop("Tags", None)
    # The layer parameter (type AWS::SSM::Parameter::Value<String>, default the public
    # path): moto has no public /aws/service parameters (names under /aws/ are reserved,
    # nobody may create them), and on an update its UsePreviousValue hands the *resolved*
    # value back to its SSM lookup and fails, where CloudFormation keeps the parameter key
    # (the path). So the test does CloudFormation's lookup itself: a String parameter of
    # the same name whose default is the value the path resolves to (a moto layer
    # published for exactly that path). UsePreviousValue then keeps the value of the same
    # name, i.e. of the same path, as CloudFormation does; a renamed parameter is new to
    # the stack, and `deploy` must let its default through.
    for name, parameter in template["Parameters"].items():
        if name.startswith("PandasLayer"):
            parameter["Type"] = "String"
            parameter["Default"] = layer_for(parameter["Default"], aws)
    # Compact, as `etlgen render` writes it: `deploy --template-file` takes at most 51,200
    # bytes, and the definition as an escaped string is larger than the object.
    path.write_text(json.dumps(template, separators=COMPACT), encoding="utf-8")


def layer_for(public_path: str, aws: Any) -> str:
    """A moto layer standing for the public layer of one SSM path (published once)."""
    name = re.sub(r"[^A-Za-z0-9]", "-", public_path.strip("/"))[-60:]
    existing = aws("lambda").list_layer_versions(LayerName=name)["LayerVersions"]
    if existing:
        return existing[0]["LayerVersionArn"]
    return aws("lambda").publish_layer_version(
        LayerName=name, Content={"ZipFile": _empty_zip()})["LayerVersionArn"]


def _empty_zip() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("python/.keep", "")
    return buffer.getvalue()


def lambda_sha256(path: Path) -> str:
    """How Lambda reports a zip: base64 of its SHA-256 digest."""
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


@dataclass(frozen=True)
class Deployed:
    key: str  # the zip's S3 key, as `etlgen package` named it
    sha256: str  # as Lambda reports it


def build_and_deploy(workdir: Path, environment: dict[str, str], aws: Any) -> Deployed:
    """The README's build and deploy blocks (artifact bucket variable set); returns what
    `etlgen package` built."""
    blocks = readme_blocks()
    artifacts = statements(blocks["artifacts"])[0]
    shutil.rmtree(workdir / "dist", ignore_errors=True)
    out = run_script(f"{artifacts}\n{blocks['build']}", workdir, environment)
    adapt_for_moto(workdir / "template.json", aws)
    run_script(f"{artifacts}\n{blocks['deploy']}", workdir, environment)
    zips = re.findall(r"^dist/\S+\.zip$", out, re.MULTILINE)  # what `etlgen package` printed
    assert len(zips) == 1, out
    return Deployed(zips[0].removeprefix("dist/"), lambda_sha256(workdir / zips[0]))


def without_stack_outputs(block: str) -> str:
    """The block with its `BUCKET=$(aws cloudformation describe-stacks ...)` statement set
    to the bucket name: moto keeps no Outputs for a stack created or updated through a
    change set (its ChangeSet.apply updates the resources, not the outputs)."""
    first, *rest = statements(block)
    assert first.startswith("BUCKET=$(aws cloudformation describe-stacks"), first
    return "\n".join([f"BUCKET={DATA_BUCKET}", *rest])


def functions(aws: Any) -> dict[str, dict[str, Any]]:
    client = aws("lambda")
    return {name: client.get_function(FunctionName=f"{BASE}-{name}")["Configuration"]
            for name in FUNCTIONS}


def stack_status(aws: Any) -> str:
    return aws("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"]


@pytest.fixture(scope="module")
def created(workdir: Path, environment: dict[str, str], aws: Any) -> Deployed:
    run_script(readme_blocks()["artifacts"], workdir, environment)
    return build_and_deploy(workdir, environment, aws)


def test_create_deploys_the_packaged_code(created: Deployed, aws: Any) -> None:
    assert stack_status(aws) == "CREATE_COMPLETE"
    assert {name: f["CodeSha256"] for name, f in functions(aws).items()} == dict.fromkeys(
        FUNCTIONS, created.sha256)
    stack = aws("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    tags = {t["Key"]: t["Value"] for t in stack["Tags"]}
    assert tags.items() >= {"Project": "ETL", "Environment": "dev"}.items()


def test_a_row_schema_change_deploys_the_new_zip(created: Deployed, workdir: Path,
                                                 environment: dict[str, str],
                                                 aws: Any) -> None:
    schema = workdir / "schemas" / "transactions.schema.json"
    text = schema.read_text(encoding="utf-8")
    assert '"maximum": 1000000' in text
    schema.write_text(text.replace('"maximum": 1000000', '"maximum": 2000000'),
                      encoding="utf-8")
    updated = build_and_deploy(workdir, environment, aws)
    assert updated.key != created.key and updated.sha256 != created.sha256
    assert stack_status(aws) == "UPDATE_COMPLETE"
    deployed = functions(aws)
    assert {name: f["CodeSha256"] for name, f in deployed.items()} == dict.fromkeys(
        FUNCTIONS, updated.sha256)
    # moto applies Layers only on update (its create drops them): checked from here on.
    layer = layer_for("/aws/service/aws-sdk-pandas/3.11.0/py3.12/arm64/layer-arn", aws)
    assert {name: [x["Arn"] for x in f["Layers"]] for name, f in deployed.items()} == (
        {name: [layer] for name in FUNCTIONS})


def test_a_runtime_and_architecture_change_reaches_the_layer(
        created: Deployed, workdir: Path, environment: dict[str, str], aws: Any) -> None:
    config = workdir / "pipeline.yaml"
    text = config.read_text(encoding="utf-8")
    for old, new in (("runtime: python3.12", "runtime: python3.11"),
                     ("architecture: arm64 ", "architecture: x86_64")):
        assert old in text
        text = text.replace(old, new)
    config.write_text(text, encoding="utf-8")
    build_and_deploy(workdir, environment, aws)
    assert stack_status(aws) == "UPDATE_COMPLETE"
    layer = layer_for("/aws/service/aws-sdk-pandas/3.11.0/py3.11/x86_64/layer-arn", aws)
    for name, function in functions(aws).items():
        assert (function["Runtime"], function["Architectures"]) == (
            "python3.11", ["x86_64"]), name
        assert [x["Arn"] for x in function["Layers"]] == [layer], name


def test_an_unchanged_render_deploys_again_without_error(
        created: Deployed, workdir: Path, environment: dict[str, str], aws: Any) -> None:
    before = {name: f["CodeSha256"] for name, f in functions(aws).items()}
    build_and_deploy(workdir, environment, aws)
    assert stack_status(aws) in ("UPDATE_COMPLETE", "CREATE_COMPLETE")
    assert {name: f["CodeSha256"] for name, f in functions(aws).items()} == before


def test_the_sample_uploads_under_the_input_prefix(created: Deployed, workdir: Path,
                                                   environment: dict[str, str],
                                                   aws: Any) -> None:
    run_script(without_stack_outputs(readme_blocks()["sample"]), workdir, environment)
    listed = aws("s3").list_objects_v2(Bucket=DATA_BUCKET, Prefix="incoming/")
    assert [o["Key"] for o in listed.get("Contents", [])] == ["incoming/transactions.csv"]


def test_teardown_keeps_the_data_and_the_readme_cleanup_allows_a_re_create(
        created: Deployed, workdir: Path, environment: dict[str, str], aws: Any) -> None:
    blocks = readme_blocks()
    run_script(blocks["delete"], workdir, environment)
    # moto's delete-stack leaves the stack's AWS::IAM::ManagedPolicy behind (CloudFormation
    # deletes it with the roles it is attached to): delete it as CloudFormation would.
    iam = aws("iam")
    for policy in iam.list_policies(Scope="Local")["Policies"]:
        if policy["PolicyName"].startswith(f"{BASE}-"):
            iam.delete_policy(PolicyArn=policy["Arn"])
    buckets = {b["Name"] for b in aws("s3").list_buckets()["Buckets"]}
    assert {DATA_BUCKET, f"{DATA_BUCKET}-log"} <= buckets  # retained
    assert aws("dynamodb").describe_table(TableName=f"{BASE}-status")["Table"]
    run_script(f"BUCKET={DATA_BUCKET}\n{blocks['cleanup']}", workdir, environment)
    buckets = {b["Name"] for b in aws("s3").list_buckets()["Buckets"]}
    assert not {DATA_BUCKET, f"{DATA_BUCKET}-log"} & buckets
    assert f"{BASE}-status" not in aws("dynamodb").list_tables()["TableNames"]
    build_and_deploy(workdir, environment, aws)
    assert stack_status(aws) == "CREATE_COMPLETE"
