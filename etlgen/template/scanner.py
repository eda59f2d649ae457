"""checkov findings this design answers on purpose, each with the reason a reviewer reads.

Each resource's `Metadata.checkov.skip` lists the ids of its skips, where checkov finds
them; the reasons live here (and in docs/architecture.md, "Security scanner"), not in the
template: 26 comments would cost about 1 KB of the 51,200 bytes a direct `deploy` takes.
Keyed by resource type, or by logical id where only one resource of a type is concerned.
`tests/template/test_checkov.py` runs checkov on every rendered test template: a finding
without an entry here fails, and so does an entry no longer needed.
"""

from __future__ import annotations

from troposphere import Template

from etlgen.template import names

Skip = tuple[str, str]

BY_TYPE: dict[str, tuple[Skip, ...]] = {
    "AWS::Lambda::Function": (
        ("CKV_AWS_115", "Map MaxConcurrency caps chunks; a reservation would throttle"),
        ("CKV_AWS_116", "invoked synchronously by Step Functions, which retries"),
        ("CKV_AWS_117", "calls only AWS APIs over TLS; nothing to reach in a VPC"),
        ("CKV_AWS_173", "no secrets in variables; Lambda encrypts them at rest"),
    ),
    "AWS::Logs::LogGroup": (
        ("CKV_AWS_158", "no row data in logs; CloudWatch encrypts them at rest"),
    ),
    "AWS::DynamoDB::Table": (
        ("CKV_AWS_119", "status items only; SSE with the AWS managed key"),
    ),
    "AWS::SQS::Queue": (
        ("CKV_AWS_27", "SqsManagedSseEnabled: SSE this check does not see"),
    ),
}
BY_ID: dict[str, tuple[Skip, ...]] = {
    names.ACCESS_LOG_BUCKET: (
        ("CKV_AWS_18", "it is the access-log bucket: it cannot log into itself"),
        ("CKV_AWS_21", "write-once logs that expire; roles may not delete them"),
    ),
}


def skips_for(logical_id: str, resource_type: str) -> tuple[Skip, ...]:
    return BY_TYPE.get(resource_type, ()) + BY_ID.get(logical_id, ())


def add_scanner_notes(template: Template) -> None:
    """Put the ids of each resource's skips into its `Metadata.checkov.skip`."""
    for logical_id, resource in template.resources.items():
        skips = skips_for(logical_id, resource.resource_type)
        if skips:
            metadata = dict(getattr(resource, "Metadata", None) or {})
            metadata["checkov"] = {"skip": [{"id": check} for check, _reason in skips]}
            resource.Metadata = metadata
