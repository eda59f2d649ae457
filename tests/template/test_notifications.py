"""The optional results queue and alerts topic, and the key that lets alarms publish."""

from __future__ import annotations

import dataclasses
from typing import Any

from etlgen.model import AlertsConfig, PipelineConfig, ResultsQueueConfig

from .conftest import template_of


def test_results_queue_is_fifo_encrypted_without_content_deduplication(
    base_template: dict[str, Any],
) -> None:
    queue = base_template["Resources"]["ResultsQueue"]
    props = queue["Properties"]
    assert props["QueueName"] == {"Fn::Sub": "minimal-${EnvironmentSuffix}-results.fifo"}
    assert props["FifoQueue"] is True
    assert props.get("ContentBasedDeduplication", False) is False  # SQS's default: off
    assert props["SqsManagedSseEnabled"] is True
    assert queue["DeletionPolicy"] == queue["UpdateReplacePolicy"] == "Retain"


def test_alert_topic_uses_a_rotating_customer_key_only_this_pipelines_alarms_can_use(
    base_template: dict[str, Any],
) -> None:
    topic = base_template["Resources"]["AlertTopic"]
    assert topic["Properties"]["TopicName"] == {"Fn::Sub": "minimal-${EnvironmentSuffix}-alerts"}
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": ["AlertKey", "Arn"]}
    key = base_template["Resources"]["AlertKey"]
    assert key["Properties"]["EnableKeyRotation"] is True
    # Deleted with the topic it encrypts (a retained key alone would only cost money).
    assert "DeletionPolicy" not in topic
    assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == "Delete"
    assert key["Properties"]["PendingWindowInDays"] == 7
    statements = {s["Sid"]: s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    assert set(statements) == {"EnableIamPolicies", "AllowAlarmsToPublish"}
    assert statements["EnableIamPolicies"]["Principal"] == {
        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    }
    alarms = statements["AllowAlarmsToPublish"]
    assert alarms["Principal"] == {"Service": ["cloudwatch.amazonaws.com"]}
    assert alarms["Action"] == ["kms:GenerateDataKey", "kms:Decrypt"]
    assert alarms["Resource"] == ["*"]  # in a key policy: this key
    assert alarms["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {"aws:SourceArn": {"Fn::Sub": (
            "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:"
            "minimal-${EnvironmentSuffix}-*")}},
    }


def test_every_alarm_name_matches_the_keys_source_arn_pattern(
    base_template: dict[str, Any],
) -> None:
    alarms = [r["Properties"]["AlarmName"]["Fn::Sub"] for r in base_template["Resources"].values()
              if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert len(alarms) == 7
    assert all(name.startswith("minimal-${EnvironmentSuffix}-") for name in alarms)


def test_optional_parts_switch_off(base_config: PipelineConfig) -> None:
    config = dataclasses.replace(base_config, results_queue=ResultsQueueConfig(enabled=False),
                                 alerts=AlertsConfig(enabled=False))
    resources = template_of(config)["Resources"]
    for absent in ("ResultsQueue", "AlertTopic", "AlertKey", "AlertKeyAlias",
                   "AlertEmailSubscription"):
        assert absent not in resources
    assert "EventsDeadLetterQueue" in resources
