"""The data bucket, its access-log bucket and both bucket policies.

Encryption is SSE-S3 (AES256) on both buckets, chosen over SSE-KMS: S3 server access logs
can only be delivered to an SSE-S3 bucket; on the data bucket SSE-KMS would add a KMS request
per object read and write (cost, and KMS request quotas at high Lambda concurrency) and a key
grant to every role, for no protection that matters here beyond what SSE-S3, the public
access block and the TLS-only policies already give.
"""

from __future__ import annotations

from awacs import aws, s3
from troposphere import GetAtt, Ref, Sub, Template
from troposphere.s3 import (
    AbortIncompleteMultipartUpload,
    Bucket,
    BucketEncryption,
    BucketPolicy,
    EventBridgeConfiguration,
    LifecycleConfiguration,
    LifecycleRule,
    LifecycleRuleTransition,
    LoggingConfiguration,
    NoncurrentVersionExpiration,
    NotificationConfiguration,
    OwnershipControls,
    OwnershipControlsRule,
    PublicAccessBlockConfiguration,
    ServerSideEncryptionByDefault,
    ServerSideEncryptionRule,
    VersioningConfiguration,
)

from etlgen.catalog.tables import ATHENA_RESULTS_PREFIX
from etlgen.model import PipelineConfig
from etlgen.template import names
from etlgen.template.policy import deny_insecure_transport, document, service_principal
from etlgen.template.tags import resource_tags


def add_storage(template: Template, config: PipelineConfig) -> None:
    template.add_resource(_access_log_bucket(config))
    template.add_resource(_access_log_bucket_policy(config))
    template.add_resource(_data_bucket(config))
    template.add_resource(_data_bucket_policy())


def _encryption() -> BucketEncryption:
    return BucketEncryption(ServerSideEncryptionConfiguration=[
        ServerSideEncryptionRule(
            ServerSideEncryptionByDefault=ServerSideEncryptionByDefault(SSEAlgorithm="AES256")
        )
    ])


def _public_access_block() -> PublicAccessBlockConfiguration:
    return PublicAccessBlockConfiguration(
        BlockPublicAcls=True,
        BlockPublicPolicy=True,
        IgnorePublicAcls=True,
        RestrictPublicBuckets=True,
    )


# Athena query results are scratch: gone after a week, their old versions a day later.
QUERY_RESULTS_DAYS = 7


def _lifecycle_rules(config: PipelineConfig) -> list[LifecycleRule]:
    retention = config.retention
    rules = []
    if retention.storage_class != "none":
        rules.append(LifecycleRule(
            Id="ArchiveProcessed",
            Status="Enabled",
            Prefix=config.output.processed_prefix,
            Transitions=[LifecycleRuleTransition(
                StorageClass=retention.storage_class,
                TransitionInDays=retention.glacier_after_days,
            )],
        ))
    rules.append(
        # Staged chunk outputs are deleted when their file is committed; those of failed
        # or abandoned runs go after `staging_days`, their old versions a day later.
        LifecycleRule(
            Id="ExpireStaging",
            Status="Enabled",
            Prefix=config.output.staging_prefix,
            ExpirationInDays=retention.staging_days,
            NoncurrentVersionExpiration=NoncurrentVersionExpiration(NoncurrentDays=1),
        ))
    if config.catalog.enabled:
        rules.append(LifecycleRule(
            Id="ExpireQueryResults",
            Status="Enabled",
            Prefix=ATHENA_RESULTS_PREFIX,
            ExpirationInDays=QUERY_RESULTS_DAYS,
            NoncurrentVersionExpiration=NoncurrentVersionExpiration(NoncurrentDays=1),
        ))
    rules.extend([
        LifecycleRule(
            Id="AbortIncompleteUploads",
            Status="Enabled",
            AbortIncompleteMultipartUpload=AbortIncompleteMultipartUpload(
                DaysAfterInitiation=retention.incomplete_upload_days
            ),
        ),
        LifecycleRule(
            Id="ExpireNoncurrentVersions",
            Status="Enabled",
            NoncurrentVersionExpiration=NoncurrentVersionExpiration(
                NoncurrentDays=retention.noncurrent_version_days
            ),
        ),
    ])
    return rules


def _data_bucket(config: PipelineConfig) -> Bucket:
    return Bucket(
        names.DATA_BUCKET,
        # The log bucket's policy must exist before S3 starts delivering access logs.
        DependsOn=[names.ACCESS_LOG_BUCKET_POLICY],
        **names.RETAINED,
        BucketName=Sub(names.bucket_name_text(config)),
        BucketEncryption=_encryption(),
        PublicAccessBlockConfiguration=_public_access_block(),
        OwnershipControls=OwnershipControls(
            Rules=[OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]
        ),
        VersioningConfiguration=VersioningConfiguration(Status="Enabled"),
        LoggingConfiguration=LoggingConfiguration(
            DestinationBucketName=Ref(names.ACCESS_LOG_BUCKET),
            LogFilePrefix=names.ACCESS_LOG_PREFIX,
        ),
        NotificationConfiguration=NotificationConfiguration(
            EventBridgeConfiguration=EventBridgeConfiguration(EventBridgeEnabled=True)
        ),
        LifecycleConfiguration=LifecycleConfiguration(Rules=_lifecycle_rules(config)),
        Tags=resource_tags(config),
    )


def _access_log_bucket(config: PipelineConfig) -> Bucket:
    return Bucket(
        names.ACCESS_LOG_BUCKET,
        **names.RETAINED,
        BucketName=Sub(names.access_log_bucket_name_text(config)),
        BucketEncryption=_encryption(),
        PublicAccessBlockConfiguration=_public_access_block(),
        # No ACLs: S3 log delivery is granted by the bucket policy instead.
        OwnershipControls=OwnershipControls(
            Rules=[OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]
        ),
        LifecycleConfiguration=LifecycleConfiguration(Rules=[
            LifecycleRule(
                Id="ExpireAccessLogs",
                Status="Enabled",
                ExpirationInDays=config.retention.log_retention_days,
                AbortIncompleteMultipartUpload=AbortIncompleteMultipartUpload(
                    DaysAfterInitiation=config.retention.incomplete_upload_days
                ),
            ),
        ]),
        Tags=resource_tags(config),
    )


def _bucket_and_objects(bucket: str) -> list[object]:
    return [GetAtt(bucket, "Arn"), Sub(f"${{{bucket}.Arn}}/*")]


def _access_log_bucket_policy(config: PipelineConfig) -> BucketPolicy:
    # The data bucket's ARN is built from its fixed name: a GetAtt would make the data
    # bucket (which waits for this policy) and this policy depend on each other.
    allow_log_delivery = aws.Statement(
        Sid="AllowS3ServerAccessLogs",
        Effect=aws.Allow,
        Principal=service_principal("logging.s3.amazonaws.com"),
        Action=[s3.PutObject],
        Resource=[Sub(f"${{{names.ACCESS_LOG_BUCKET}.Arn}}/{names.ACCESS_LOG_PREFIX}*")],
        Condition=aws.Condition([
            aws.ArnLike("aws:SourceArn", Sub(names.bucket_arn_text(config))),
            aws.StringEquals("aws:SourceAccount", Ref("AWS::AccountId")),
        ]),
    )
    return BucketPolicy(
        names.ACCESS_LOG_BUCKET_POLICY,
        # Kept with its retained bucket: a bucket left behind must stay TLS-only.
        **names.RETAINED,
        Bucket=Ref(names.ACCESS_LOG_BUCKET),
        PolicyDocument=document(
            allow_log_delivery,
            deny_insecure_transport(s3.Action("*"), _bucket_and_objects(names.ACCESS_LOG_BUCKET)),
        ),
    )


def _data_bucket_policy() -> BucketPolicy:
    return BucketPolicy(
        names.DATA_BUCKET_POLICY,
        **names.RETAINED,  # kept with its retained bucket, as the log bucket's
        Bucket=Ref(names.DATA_BUCKET),
        PolicyDocument=document(
            deny_insecure_transport(s3.Action("*"), _bucket_and_objects(names.DATA_BUCKET)),
        ),
    )
