"""cfn-lint wrapper: every finding, at every severity, as one readable line."""

from __future__ import annotations

import json

from etlgen.lint import lint_template

GOOD = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {"MessageRetentionPeriod": 345600},
        }
    },
}

BAD = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Parameters": {"Unused": {"Type": "String"}},
    "Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"Colour": "blue"}},
        "Queue": {"Type": "AWS::SQS::Queue"},
    },
}


def test_clean_template_has_no_findings() -> None:
    assert lint_template(json.dumps(GOOD)) == []


def test_yaml_template_is_linted_too() -> None:
    text = "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    Properties:\n      Colour: x\n"
    assert lint_template(text) == [
        "E3002 Resources/Bucket/Properties/Colour: Additional properties are not allowed "
        "('Colour' was unexpected)"
    ]


def test_errors_warnings_and_informational_findings_are_all_reported() -> None:
    findings = lint_template(json.dumps(BAD))

    assert findings[0] == (
        "E3002 Resources/Bucket/Properties/Colour: Additional properties are not allowed "
        "('Colour' was unexpected)"
    )
    assert "W2001 Parameters/Unused: Parameter Unused not used." in findings
    assert any(line.startswith("I3011 Resources/Queue: 'DeletionPolicy'") for line in findings)
    assert all("\n" not in line for line in findings)


def test_findings_are_ordered_errors_first_and_stable() -> None:
    findings = lint_template(json.dumps(BAD))

    severities = [line[0] for line in findings]
    assert severities == sorted(severities, key="EWI".index)
    assert lint_template(json.dumps(BAD)) == findings


def test_unparsable_template_is_one_finding_with_its_line() -> None:
    assert lint_template('{\n"Resources": {\n') == [
        "E0000 line 3:1: did not find expected node content"
    ]


def test_template_without_resources_is_reported() -> None:
    assert lint_template("{}") == ["E1001 (template): 'Resources' is a required property"]
