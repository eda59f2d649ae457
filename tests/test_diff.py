"""`etlgen diff`: real renders of modified configs, and the replacement rules on their own."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from etlgen.cli import main
from etlgen.config import load_config
from etlgen.diff.compare import compare
from etlgen.diff.replacement import REGISTRY
from etlgen.diff.sources import load_side
from etlgen.render import render

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = [*sorted((ROOT / "tests" / "configs").glob("*.yaml")), ROOT / "pipeline.yaml"]


def _variant(tmp_path: Path, *replacements: tuple[str, str], name: str = "new.yaml") -> Path:
    """pipeline.yaml with some lines changed, next to a copy of its row schema."""
    text = (ROOT / "pipeline.yaml").read_text()
    for pattern, replacement in replacements:
        text, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
        assert count == 1, pattern
    (tmp_path / "schemas").mkdir(parents=True, exist_ok=True)
    for schema in (ROOT / "schemas").glob("*.json"):
        if not (tmp_path / "schemas" / schema.name).exists():
            (tmp_path / "schemas" / schema.name).write_text(schema.read_text())
    path = tmp_path / name
    path.write_text(text)
    return path


def _diff(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["diff", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _block(out: str, logical_id: str) -> str:
    """The lines of one resource in the report."""
    match = re.search(rf"^\[.\] \S+ {logical_id}\b.*?(?=^\[|^[A-Z]|\Z)", out,
                      re.MULTILINE | re.DOTALL)
    assert match, f"{logical_id} not in the diff:\n{out}"
    return match.group(0)


def test_the_committed_template_against_a_fresh_render(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = _diff([], capsys)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "etlgen diff: templates/pipeline.json -> pipeline.yaml (rendered)", "no differences"]


def test_renaming_the_pipeline_says_the_data_stays_behind(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    renamed = _variant(tmp_path, (r"^name: transactions", "name: payments"))
    code, out, _ = _diff([str(ROOT / "templates" / "pipeline.json"), str(renamed)], capsys)
    assert code == 1
    bucket = _block(out, "DataBucket")
    assert "(replace)" in bucket.splitlines()[0]
    assert "Properties.BucketName.Fn::Sub:" in bucket
    assert ("!! replaced (BucketName changes): CloudFormation creates a new, empty "
            "AWS::S3::Bucket; the old one is kept with its objects outside the stack "
            "(UpdateReplacePolicy Retain), orphaned") in bucket
    table = _block(out, "StatusTable")
    assert "replaced (TableName changes)" in table and "with its items" in table
    assert "DATA AT RISK" in out.splitlines()[-1]
    assert "DataBucket (AWS::S3::Bucket)" in out.splitlines()[-1]


def test_a_retune_changes_in_place_and_exits_0(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    tuned = _variant(tmp_path, (r"^  memory_mb: 3072", "  memory_mb: 4096"))
    code, out, _ = _diff(["--config", str(tuned), str(ROOT / "templates" / "pipeline.json")],
                         capsys)
    assert code == 0
    process = _block(out, "ProcessFunction")
    assert process.splitlines()[0] == "[~] AWS::Lambda::Function ProcessFunction"
    assert "    Properties.MemorySize: 3072 -> 4096" in process
    assert "!!" not in out and "(replace)" not in out


def test_turning_the_results_queue_off_orphans_it(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    off = _variant(tmp_path, (r"^results_queue:\n  enabled: true", "results_queue:\n  "
                              "enabled: false"))
    code, out, _ = _diff([str(ROOT / "pipeline.yaml"), str(off)], capsys)
    assert code == 1
    queue = _block(out, "ResultsQueue")
    assert queue.startswith("[-] AWS::SQS::Queue ResultsQueue")
    assert "!! orphaned: CloudFormation keeps it and its messages (DeletionPolicy Retain)" \
        in queue


def test_a_row_schema_change_is_a_code_change_only(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    old = _variant(tmp_path / "old")
    new = _variant(tmp_path / "new")
    schema = tmp_path / "new" / "schemas" / "transactions.schema.json"
    schema.write_text(schema.read_text().replace('"maximum": 1000000', '"maximum": 2000000'))
    code, out, _ = _diff([str(old), str(new)], capsys)
    assert code == 0 and "no differences" not in out
    keys = re.findall(r"etlgen-handlers-[0-9a-f]{16}\.zip", out)
    assert len(set(keys)) == 2, out  # the old and the new handlers key


def test_a_yaml_render_equals_its_json_render(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    config = load_config(ROOT / "pipeline.yaml")
    (tmp_path / "t.yaml").write_text(render(config, fmt="yaml"))
    (tmp_path / "t.json").write_text(render(config, fmt="json-pretty"))
    code, out, _ = _diff([str(tmp_path / "t.yaml"), str(tmp_path / "t.json")], capsys)
    assert (code, out.splitlines()[-1]) == (0, "no differences")


def test_short_form_yaml_tags_read_as_their_long_form(tmp_path: Path) -> None:
    (tmp_path / "short.yaml").write_text(
        "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n"
        "      QueueName: !Sub '${AWS::StackName}-q'\n      Tags:\n"
        "        - {Key: a, Value: !GetAtt Other.Arn}\n        - {Key: b, Value: !Ref X}\n")
    long_form = {"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {
        "QueueName": {"Fn::Sub": "${AWS::StackName}-q"},
        "Tags": [{"Key": "a", "Value": {"Fn::GetAtt": "Other.Arn"}},
                 {"Key": "b", "Value": {"Ref": "X"}}]}}}}
    (tmp_path / "long.json").write_text(json.dumps(long_form))
    assert load_side(tmp_path / "short.yaml").template == \
        load_side(tmp_path / "long.json").template


# ----- the rules, on hand-made templates ------------------------------------------------

TABLE = {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain",
         "UpdateReplacePolicy": "Retain", "Properties": {
             "TableName": "t", "BillingMode": "PAY_PER_REQUEST",
             "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
             "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]}}


def _template(**resources: dict) -> dict:
    return {"Resources": resources}


def _one(old: dict, new: dict):
    (resource,) = compare(_template(R=old), _template(R=new)).resources
    return resource


def _edit(resource: dict, **properties: object) -> dict:
    edited = copy.deepcopy(resource)
    edited["Properties"].update(properties)
    return edited


def test_a_key_change_under_a_fixed_name_fails() -> None:
    changed = _one(TABLE, _edit(TABLE, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}]))
    assert changed.replaced_by == ["KeySchema"] and changed.at_risk
    assert "CloudFormation cannot replace a resource with a fixed name" in changed.warnings[0]


def test_a_new_attribute_is_an_update_an_edited_one_a_replacement() -> None:
    added = _edit(TABLE, AttributeDefinitions=[*TABLE["Properties"]["AttributeDefinitions"],
                                               {"AttributeName": "gsi", "AttributeType": "N"}])
    assert not _one(TABLE, added).replaced
    edited = _edit(TABLE, TableName="t2",
                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "N"}])
    resource = _one(TABLE, edited)
    assert resource.replaced_by == ["TableName", "AttributeDefinitions"]
    assert "kept with its items outside the stack" in resource.warnings[0]


def test_a_replaced_resource_without_retain_loses_its_data() -> None:
    queue = {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "a"}}
    resource = _one(queue, _edit(queue, QueueName="b", FifoQueue=True))
    assert resource.replaced_by == ["FifoQueue", "QueueName"]
    assert resource.warnings == ["replaced (FifoQueue, QueueName changes): CloudFormation "
                                 "creates a new, empty AWS::SQS::Queue; the old one is deleted "
                                 "with its messages"]


def test_a_refused_kms_change_and_a_type_change() -> None:
    key = {"Type": "AWS::KMS::Key", "Properties": {"KeySpec": "SYMMETRIC_DEFAULT"}}
    refused = _one(key, _edit(key, KeySpec="RSA_2048"))
    assert refused.refused == ["KeySpec"] and "the update fails" in refused.warnings[0]
    retyped = _one({"Type": "AWS::SQS::Queue", "Properties": {}},
                   {"Type": "AWS::SNS::Topic", "Properties": {}})
    assert retyped.replaced_by == ["Type"] and retyped.at_risk


def test_removals_and_no_longer_retained() -> None:
    log_group = {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "g"}}
    removed = compare(_template(L=log_group, T=TABLE), _template()).resources
    assert [(r.logical_id, r.warnings[0].split(":")[0]) for r in removed] == [
        ("L", "deleted with its log events"), ("T", "orphaned")]
    function = {"Type": "AWS::Lambda::Function", "Properties": {}}
    assert not compare(_template(F=function), _template()).resources[0].at_risk
    unretained = {**copy.deepcopy(TABLE), "DeletionPolicy": "Delete"}
    assert _one(TABLE, unretained).notes == [
        "no longer retained: deleting the stack (or this resource) will delete its items"]


def test_a_type_outside_the_registry_is_said_to_be_unknown() -> None:
    thing = {"Type": "AWS::Foo::Bar", "Properties": {"A": 1}}
    resource = _one(thing, _edit(thing, A=2))
    assert not resource.at_risk and "not in etlgen's table" in resource.notes[0]


def test_a_changed_parameter_default_says_it_does_not_reach_a_stack() -> None:
    old = {"Parameters": {"P": {"Type": "String", "Default": "a"}}, "Resources": {}}
    new = {"Parameters": {"P": {"Type": "String", "Default": "b"}}, "Resources": {}}
    (entry,) = compare(old, new).entries
    assert entry.changes[0].path == "Default" and "--parameter-overrides" in entry.notes[0]


# ----- the registry against its sources -------------------------------------------------

@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_the_registry_lists_every_create_only_property_of_the_type(kind: str) -> None:
    """cfn-lint's copy of the CloudFormation registry schema: `createOnlyProperties` are
    the properties whose change replaces the resource."""
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", kind).schema
    create_only = {pointer.split("/")[2] for pointer in schema.get("createOnlyProperties", [])
                   if pointer.count("/") == 2}
    rule = REGISTRY[kind]
    listed = rule.replaced_by | set(rule.replaced_when) | rule.refuses
    assert create_only <= listed, f"{kind}: add {sorted(create_only - listed)}"


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_every_resource_type_the_generator_renders_is_in_the_registry(config: Path) -> None:
    kinds = {resource["Type"] for resource in
             yaml.safe_load(render(load_config(config)))["Resources"].values()}
    assert kinds <= set(REGISTRY), f"add to etlgen/diff/replacement.py: {kinds - set(REGISTRY)}"


def test_a_template_body_saved_by_get_template_reads_as_the_template(tmp_path: Path) -> None:
    body = render(load_config(ROOT / "pipeline.yaml"), fmt="yaml")
    (tmp_path / "deployed.json").write_text(json.dumps(body))  # a YAML body, JSON-quoted
    assert load_side(tmp_path / "deployed.json").template == \
        load_side(ROOT / "templates" / "pipeline.json").template
