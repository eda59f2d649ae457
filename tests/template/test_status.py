"""The status table matches the item layout of the architecture contract."""

from __future__ import annotations

from typing import Any


def test_status_table_keys_billing_recovery_encryption_and_ttl(
    base_template: dict[str, Any],
) -> None:
    table = base_template["Resources"]["StatusTable"]
    props = table["Properties"]
    assert props["TableName"] == {"Fn::Sub": "minimal-${EnvironmentSuffix}-status"}
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert props["AttributeDefinitions"] == [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
