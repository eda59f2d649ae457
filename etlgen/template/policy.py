"""Policy statements several resource policies share."""

from __future__ import annotations

from typing import Any

from awacs import aws

POLICY_VERSION = "2012-10-17"


def document(*statements: aws.Statement) -> aws.PolicyDocument:
    return aws.PolicyDocument(Version=POLICY_VERSION, Statement=list(statements))


def deny_insecure_transport(action: aws.Action, resources: list[Any]) -> aws.Statement:
    """Refuse every plain-HTTP request, whoever makes it.

    The action is the service wildcard (`s3:*`, `sqs:*`) on purpose: this is a Deny, and the
    guarantee must hold for actions added to the service later too.
    """
    return aws.Statement(
        Sid="DenyInsecureTransport",
        Effect=aws.Deny,
        Principal=aws.Principal("*"),
        Action=[action],
        Resource=resources,
        Condition=aws.Condition(aws.Bool("aws:SecureTransport", False)),
    )


def service_principal(service: str) -> aws.Principal:
    return aws.Principal("Service", [service])
