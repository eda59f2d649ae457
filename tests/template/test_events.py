"""The EventBridge rule matches only new objects under the incoming prefix."""

from __future__ import annotations

from typing import Any

import pytest

from etlgen.model import PipelineConfig

from .conftest import changed, template_of


def _key_filter(template: dict[str, Any]) -> list[dict[str, str]]:
    return template["Resources"]["ObjectCreatedRule"]["Properties"]["EventPattern"]["detail"][
        "object"]["key"]


def test_rule_matches_object_created_in_this_bucket(base_template: dict[str, Any]) -> None:
    pattern = base_template["Resources"]["ObjectCreatedRule"]["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.s3"]
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["bucket"] == {"name": [{"Ref": "DataBucket"}]}
    assert _key_filter(base_template) == [{"wildcard": "incoming/*.csv"}]


@pytest.mark.parametrize(("prefix", "suffix", "expected"), [
    ("landing/csv/", ".csv", {"wildcard": "landing/csv/*.csv"}),
    ("incoming/", "", {"prefix": "incoming/"}),
    ("in*coming/", ".c*v", {"wildcard": "in\\*coming/*.c\\*v"}),
])
def test_key_filter_follows_prefix_and_suffix(
    base_config: PipelineConfig, prefix: str, suffix: str, expected: dict[str, str],
) -> None:
    config = changed(base_config, "input", prefix=prefix, suffix=suffix)
    assert _key_filter(template_of(config)) == [expected]


def test_outputs_never_match_the_key_filter(configs: dict[str, PipelineConfig]) -> None:
    """Written objects live under the processed/rejected prefixes, outside the filter."""
    for config in configs.values():
        key_filter = _key_filter(template_of(config))[0]
        start = next(iter(key_filter.values())).split("*")[0].replace("\\", "")
        for output_prefix in (config.output.processed_prefix, config.output.rejected_prefix):
            assert not f"{output_prefix}x/v=1/part-000000.csv".startswith(start)


def test_rule_targets_the_state_machine_with_retries_and_dead_letters(
    base_template: dict[str, Any],
) -> None:
    [target] = base_template["Resources"]["ObjectCreatedRule"]["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": "StateMachine"}
    assert target["RoleArn"] == {"Fn::GetAtt": ["ObjectCreatedRuleRole", "Arn"]}
    # EventBridge's default retry policy (24 hours, 185 attempts) is its maximum: not written.
    assert "RetryPolicy" not in target
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}}


def test_dead_letter_queue_is_encrypted_and_only_this_rule_may_send(
    base_template: dict[str, Any],
) -> None:
    queue = base_template["Resources"]["EventsDeadLetterQueue"]
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    assert queue["DeletionPolicy"] == queue["UpdateReplacePolicy"] == "Retain"
    resource = base_template["Resources"]["EventsDeadLetterQueuePolicy"]
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
    policy = resource["Properties"]
    assert policy["Queues"] == [{"Ref": "EventsDeadLetterQueue"}]
    allow, deny = policy["PolicyDocument"]["Statement"]
    assert allow["Principal"] == {"Service": ["events.amazonaws.com"]}
    assert allow["Action"] == ["sqs:SendMessage"]
    assert allow["Resource"] == [{"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}]
    assert allow["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["ObjectCreatedRule", "Arn"]}}
    }
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": False}}
