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
    assert props["ContentBasedDeduplication"] is False
    assert props["SqsManagedSseEnabled"] is True
    assert queue["DeletionPolicy"] == queue["UpdateReplacePolicy"] == "Retain"


def test_alert_topic_uses_a_rotating_customer_key_alarms_can_use(
    base_template: dict[str, Any],
) -> None:
    topic = base_template["Resources"]["AlertTopic"]["Properties"]
    assert topic["TopicName"] == {"Fn::Sub": "minimal-${EnvironmentSuffix}-alerts"}
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": ["AlertKey", "Arn"]}
    key = base_template["Resources"]["AlertKey"]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == "Retain"
    statements = {s["Sid"]: s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    assert statements["EnableIamPolicies"]["Principal"] == {
        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    }
    for sid, service in (("AllowCloudwatchToPublish", "cloudwatch.amazonaws.com"),
                         ("AllowEventsToPublish", "events.amazonaws.com")):
        assert statements[sid]["Principal"] == {"Service": [service]}
        assert statements[sid]["Action"] == ["kms:GenerateDataKey", "kms:Decrypt"]
        assert statements[sid]["Resource"] == ["*"]  # in a key policy: this key


def test_optional_parts_switch_off(base_config: PipelineConfig) -> None:
    config = dataclasses.replace(base_config, results_queue=ResultsQueueConfig(enabled=False),
                                 alerts=AlertsConfig(enabled=False))
    resources = template_of(config)["Resources"]
    for absent in ("ResultsQueue", "AlertTopic", "AlertKey", "AlertKeyAlias",
                   "AlertEmailSubscription"):
        assert absent not in resources
    assert "EventsDeadLetterQueue" in resources
