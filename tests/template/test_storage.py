"""The data bucket, the access-log bucket and their policies follow the config."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from etlgen.model import PipelineConfig

from .conftest import changed, template_of

SUB = "Fn::Sub"


def _lifecycle(template: dict[str, Any], bucket: str = "DataBucket") -> dict[str, dict[str, Any]]:
    rules = template["Resources"][bucket]["Properties"]["LifecycleConfiguration"]["Rules"]
    return {rule["Id"]: rule for rule in rules}


def test_data_bucket_is_private_versioned_encrypted_and_sends_events(
    base_template: dict[str, Any],
) -> None:
    bucket = base_template["Resources"]["DataBucket"]
    props = bucket["Properties"]
    assert props["BucketName"] == {
        SUB: "minimal-${EnvironmentSuffix}-${AWS::AccountId}-${AWS::Region}"
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True,
        "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }
    assert props["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": "AccessLogBucket"}, "LogFilePrefix": "s3-access/",
    }
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"


def test_lifecycle_rules_follow_retention_and_processed_prefix(
    base_config: PipelineConfig,
) -> None:
    config = changed(
        changed(base_config, "retention", glacier_after_days=45, incomplete_upload_days=2,
                noncurrent_version_days=11),
        "output", processed_prefix="curated/",
    )
    rules = _lifecycle(template_of(config))
    assert rules["ArchiveProcessed"]["Prefix"] == "curated/"
    # by default to S3 Glacier Instant Retrieval, which Athena still reads
    assert rules["ArchiveProcessed"]["Transitions"] == [
        {"StorageClass": "GLACIER_IR", "TransitionInDays": 45}
    ]
    assert rules["AbortIncompleteUploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 2
    }
    assert "Prefix" not in rules["AbortIncompleteUploads"]
    assert rules["ExpireNoncurrentVersions"]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": 11
    }
    assert all(rule["Status"] == "Enabled" for rule in rules.values())


@pytest.mark.parametrize("storage_class", ["GLACIER", "DEEP_ARCHIVE", "GLACIER_IR"])
def test_processed_objects_move_to_the_configured_class(
        base_config: PipelineConfig, storage_class: str) -> None:
    rules = _lifecycle(template_of(changed(base_config, "retention",
                                           storage_class=storage_class)))
    assert rules["ArchiveProcessed"]["Transitions"] == [
        {"StorageClass": storage_class, "TransitionInDays": 30}]


def test_no_transition_when_the_class_is_none(base_config: PipelineConfig) -> None:
    rules = _lifecycle(template_of(changed(base_config, "retention", storage_class="none")))
    assert "ArchiveProcessed" not in rules
    assert {"ExpireStaging", "AbortIncompleteUploads", "ExpireNoncurrentVersions"} <= set(rules)


def test_query_results_expire_with_the_catalog_only(base_config: PipelineConfig) -> None:
    """Athena writes every result under athena-results/: scratch, gone after a week."""
    rule = _lifecycle(template_of(base_config))["ExpireQueryResults"]
    assert rule == {"Id": "ExpireQueryResults", "Status": "Enabled",
                    "Prefix": "athena-results/", "ExpirationInDays": 7,
                    "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}
    off = changed(base_config, "catalog", enabled=False)
    assert "ExpireQueryResults" not in _lifecycle(template_of(off))


def test_staged_parts_of_failed_runs_expire(base_config: PipelineConfig) -> None:
    """Parts wait under the staging prefix until their file is committed; those of runs
    that never commit expire, and their old versions a day later (shorter than the
    bucket-wide noncurrent rule, which S3 resolves in favour of the shorter expiry)."""
    config = changed(changed(base_config, "retention", staging_days=4),
                     "output", staging_prefix="pending/")
    rule = _lifecycle(template_of(config))["ExpireStaging"]
    assert rule == {"Id": "ExpireStaging", "Status": "Enabled", "Prefix": "pending/",
                    "ExpirationInDays": 4,
                    "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}


def test_access_log_bucket_is_locked_down_and_expires_logs(
    base_config: PipelineConfig,
) -> None:
    template = template_of(changed(base_config, "retention", log_retention_days=90))
    bucket = template["Resources"]["AccessLogBucket"]
    props = bucket["Properties"]
    assert props["BucketName"] == {
        SUB: "minimal-${EnvironmentSuffix}-${AWS::AccountId}-${AWS::Region}-log"
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert _lifecycle(template, "AccessLogBucket")["ExpireAccessLogs"]["ExpirationInDays"] == 90
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"


def test_longest_bucket_names_fit_the_s3_limit(base_config: PipelineConfig) -> None:
    template = template_of(dataclasses.replace(base_config, name="a" * 20))
    worst = {"${EnvironmentSuffix}": "z" * 10, "${AWS::AccountId}": "1" * 12,
             "${AWS::Region}": "ap-southeast-5"}
    for bucket in ("DataBucket", "AccessLogBucket"):
        name = template["Resources"][bucket]["Properties"]["BucketName"][SUB]
        for variable, value in worst.items():
            name = name.replace(variable, value)
        assert len(name) <= 63, name


def test_both_buckets_refuse_plain_http(base_template: dict[str, Any]) -> None:
    for policy_id, bucket in (("DataBucketPolicy", "DataBucket"),
                              ("AccessLogBucketPolicy", "AccessLogBucket")):
        resource = base_template["Resources"][policy_id]
        # A bucket left behind by a stack deletion keeps its TLS-only policy.
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
        assert base_template["Resources"][bucket]["DeletionPolicy"] == "Retain"
        policy = resource["Properties"]
        assert policy["Bucket"] == {"Ref": bucket}
        [deny] = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert deny["Principal"] == "*"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": False}}
        assert deny["Resource"] == [
            {"Fn::GetAtt": [bucket, "Arn"]}, {SUB: f"${{{bucket}.Arn}}/*"}
        ]


def test_only_the_data_bucket_may_deliver_access_logs(base_template: dict[str, Any]) -> None:
    statements = base_template["Resources"]["AccessLogBucketPolicy"]["Properties"][
        "PolicyDocument"]["Statement"]
    [allow] = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": ["logging.s3.amazonaws.com"]}
    assert allow["Action"] == ["s3:PutObject"]
    assert allow["Resource"] == [{SUB: "${AccessLogBucket.Arn}/s3-access/*"}]
    assert allow["Condition"] == {
        "ArnLike": {"aws:SourceArn": {
            SUB: "arn:${AWS::Partition}:s3:::minimal-${EnvironmentSuffix}-${AWS::AccountId}"
                 "-${AWS::Region}"
        }},
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
    }
