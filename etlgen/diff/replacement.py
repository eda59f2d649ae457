"""Which property changes make CloudFormation replace a resource, per resource type, and
which types hold data that a replacement or removal leaves behind or deletes.

Source: the "Update requires: Replacement" line of each property in the CloudFormation
resource reference (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/,
page `aws-resource-<service>-<type>`), and for properties added since, the
`createOnlyProperties` of the type's CloudFormation registry schema (which cfn-lint ships;
a test checks that every one of those is listed here).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# (old value, new value) -> whether this change replaces the resource
Conditional = Callable[[Any, Any], bool]


def _renames(old: Any, new: Any) -> bool:
    """Glue: the `Name` of a table or database input cannot change in place (Glue renames
    neither); the rest of the input updates in place."""
    def named(value: Any) -> object:
        return value.get("Name") if isinstance(value, dict) else None

    return named(old) != named(new)


def _edits_an_existing_attribute(old: Any, new: Any) -> bool:
    """DynamoDB: "Replacement if you edit an existing AttributeDefinition" (adding one for a
    new index is an update)."""
    def types(value: Any) -> dict[Any, Any]:
        if not isinstance(value, list):
            return {}
        return {item.get("AttributeName"): item.get("AttributeType")
                for item in value if isinstance(item, dict)}

    before, after = types(old), types(new)
    return any(name in after and after[name] != kind for name, kind in before.items())


@dataclass(frozen=True)
class ResourceRule:
    """How one resource type updates."""

    replaced_by: frozenset[str] = frozenset()
    # properties replaced only for some changes
    replaced_when: dict[str, Conditional] = field(default_factory=dict)
    # properties CloudFormation refuses to change at all (the update fails)
    refuses: frozenset[str] = frozenset()
    # what a replacement or removal puts at risk; None for resources without data
    holds: str | None = None
    # the property that names it: "If you specify a name, you cannot perform updates that
    # require replacement of this resource" unless the name changes too
    name: str | None = None


def _rule(*replaced_by: str, holds: str | None = None, refuses: tuple[str, ...] = (),
          replaced_when: dict[str, Conditional] | None = None,
          name: str | None = None) -> ResourceRule:
    return ResourceRule(frozenset(replaced_by), replaced_when or {}, frozenset(refuses), holds,
                        name)


REGISTRY: dict[str, ResourceRule] = {
    # stateful: their data outlives neither a replacement nor a removal inside the stack
    "AWS::S3::Bucket": _rule("BucketName", "ObjectLockEnabled", "BucketNamePrefix",
                             "BucketNamespace", holds="its objects", name="BucketName"),
    "AWS::DynamoDB::Table": _rule(
        "TableName", "KeySchema", "ImportSourceSpecification", holds="its items", name="TableName",
        replaced_when={"AttributeDefinitions": _edits_an_existing_attribute}),
    "AWS::SQS::Queue": _rule("QueueName", "FifoQueue", holds="its messages", name="QueueName"),
    # "If you change the value of the KeySpec, KeyUsage, Origin, or MultiRegion properties of
    # an existing KMS key, the update request fails, regardless of the UpdateReplacePolicy"
    "AWS::KMS::Key": _rule(refuses=("KeySpec", "KeyUsage", "Origin", "MultiRegion"),
                           holds="its key material (what it encrypted cannot be decrypted "
                                 "once it is deleted)"),
    "AWS::Logs::LogGroup": _rule("LogGroupName", holds="its log events", name="LogGroupName"),
    # A table's partitions are registered by finalize, not by the stack: a new table has
    # none, so the committed data under its location is invisible until files are run again.
    "AWS::Glue::Table": _rule(
        "DatabaseName", "CatalogId", "Name",
        holds="its registered partitions (every committed file: the objects stay in S3, but "
              "a new table shows none of them)",
        replaced_when={"TableInput": _renames}),
    "AWS::Glue::Database": _rule(
        "DatabaseName", holds="the partitions of its tables (replaced with it)",
        replaced_when={"DatabaseInput": _renames}),
    # no data of their own
    "AWS::S3::BucketPolicy": _rule("Bucket"),
    "AWS::SQS::QueuePolicy": _rule(),
    "AWS::SQS::QueueInlinePolicy": _rule("Queue"),
    "AWS::SNS::Topic": _rule("TopicName", "FifoTopic", name="TopicName"),
    "AWS::SNS::TopicPolicy": _rule(),
    "AWS::SNS::Subscription": _rule("Endpoint", "Protocol", "TopicArn"),
    "AWS::KMS::Alias": _rule("AliasName", name="AliasName"),
    "AWS::IAM::Role": _rule("RoleName", "Path", name="RoleName"),
    "AWS::IAM::ManagedPolicy": _rule("ManagedPolicyName", "Path", "Description",
                                     name="ManagedPolicyName"),
    "AWS::Lambda::Function": _rule("FunctionName", "PackageType", "TenancyConfig",
                                   name="FunctionName"),
    "AWS::Lambda::Permission": _rule("FunctionName", "Action", "Principal", "SourceAccount",
                                     "SourceArn", "EventSourceToken", "PrincipalOrgID",
                                     "FunctionUrlAuthType", "InvokedViaFunctionUrl"),
    "AWS::Lambda::EventInvokeConfig": _rule("FunctionName", "Qualifier"),
    "AWS::Lambda::LayerVersion": _rule("LayerName", "Content", "CompatibleRuntimes",
                                       "CompatibleArchitectures", "Description",
                                       "LicenseInfo"),
    "AWS::StepFunctions::StateMachine": _rule("StateMachineName", "StateMachineType",
                                              name="StateMachineName"),
    "AWS::Events::Rule": _rule("Name", "EventBusName", name="Name"),
    "AWS::CloudWatch::Alarm": _rule("AlarmName", name="AlarmName"),
    "AWS::CloudWatch::Dashboard": _rule("DashboardName", name="DashboardName"),
    "AWS::Logs::MetricFilter": _rule("FilterName", "LogGroupName", name="FilterName"),
    "AWS::Logs::ResourcePolicy": _rule("PolicyName", name="PolicyName"),
    "AWS::SSM::Parameter": _rule("Name", name="Name"),
    # query history and results stay in S3 under athena-results/ (expired by lifecycle)
    "AWS::Athena::WorkGroup": _rule("Name", name="Name"),
    "AWS::Athena::NamedQuery": _rule("Name", "Database", "Description", "QueryString",
                                     "WorkGroup"),
}


def replacing_properties(kind: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The properties whose change from `old` to `new` (a resource's Properties) replaces it;
    a property given on one side only counts as changed."""
    rule = REGISTRY.get(kind)
    if rule is None:
        return []
    found = [name for name in sorted(rule.replaced_by) if old.get(name) != new.get(name)]
    found.extend(name for name, replaces in sorted(rule.replaced_when.items())
                 if old.get(name) != new.get(name) and replaces(old.get(name), new.get(name)))
    return found


def refused_properties(kind: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    rule = REGISTRY.get(kind)
    if rule is None:
        return []
    return [name for name in sorted(rule.refuses) if old.get(name) != new.get(name)]
