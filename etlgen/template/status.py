"""The DynamoDB table holding one item per file version and one per chunk."""

from __future__ import annotations

from troposphere import Sub, Template
from troposphere.dynamodb import (
    AttributeDefinition,
    KeySchema,
    PointInTimeRecoverySpecification,
    SSESpecification,
    Table,
    TimeToLiveSpecification,
)

from etlgen.model import PipelineConfig
from etlgen.template import names
from etlgen.template.tags import resource_tags

TTL_ATTRIBUTE = "expires_at"


def add_status_table(template: Template, config: PipelineConfig) -> None:
    template.add_resource(Table(
        names.STATUS_TABLE,
        **names.RETAINED,
        TableName=Sub(names.table_name_text(config)),
        AttributeDefinitions=[
            AttributeDefinition(AttributeName="pk", AttributeType="S"),
            AttributeDefinition(AttributeName="sk", AttributeType="S"),
        ],
        KeySchema=[
            KeySchema(AttributeName="pk", KeyType="HASH"),
            KeySchema(AttributeName="sk", KeyType="RANGE"),
        ],
        # Files arrive in bursts and idle in between: pay per request, no capacity planning.
        BillingMode="PAY_PER_REQUEST",
        # Retained on stack deletion anyway; this also stops a console or CLI delete.
        DeletionProtectionEnabled=True,
        PointInTimeRecoverySpecification=PointInTimeRecoverySpecification(
            PointInTimeRecoveryEnabled=True
        ),
        SSESpecification=SSESpecification(SSEEnabled=True),
        TimeToLiveSpecification=TimeToLiveSpecification(
            AttributeName=TTL_ATTRIBUTE, Enabled=True
        ),
        Tags=resource_tags(config),
    ))
