"""The status table in DynamoDB: each rule's `Change` becomes one conditional UpdateItem."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, cast

from handlers.status.rules import FILE_SK, Change, ChunkItem, FileItem, Item, _StatusRules
from handlers.status.values import item_from_typed, plain, storable, to_typed


class DynamoStatusStore(_StatusRules):
    """The status table in DynamoDB (boto3 client, service resource or Table resource)."""

    def __init__(self, client_or_resource: Any, table_name: str, ttl_days: int = 90,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(ttl_days, clock)
        # botocore comes with the client: imported here, not by the local runner's imports
        from botocore.exceptions import ClientError

        self._client_error: type[Exception] = ClientError
        meta = getattr(client_or_resource, "meta", None)
        client = getattr(meta, "client", None)
        # A resource's client converts Python values itself; a plain client wants them typed.
        self.typed = client is None
        self.client = client_or_resource if client is None else client
        self.table_name = table_name

    def _value(self, value: Any) -> Any:
        return to_typed(value) if self.typed else storable(value)

    def _key(self, key: dict[str, Any]) -> dict[str, Any]:
        return {k: self._value(v) for k, v in key.items()}

    def _item(self, item: dict[str, Any]) -> Item:
        read: Item = item_from_typed(item) if self.typed else plain(item)
        return read

    def _get(self, key: dict[str, str]) -> Item | None:
        reply = self.client.get_item(TableName=self.table_name, ConsistentRead=True,
                                     Key=self._key(key))
        item = reply.get("Item")
        return self._item(item) if item else None

    def _apply(self, key: dict[str, str], change: Change) -> tuple[Item, bool]:
        names = dict(change.condition_names)
        values = {k: self._value(v) for k, v in change.condition_values.items()}
        clauses = []
        for action, tag, joiner, assignments in (("SET", "s", " = ", change.set),
                                                 ("ADD", "a", " ", change.add)):
            terms = []
            for n, (name, value) in enumerate(assignments.items()):
                names[f"#{tag}{n}"] = name
                values[f":{tag}{n}"] = self._value(value)
                terms.append(f"#{tag}{n}{joiner}:{tag}{n}")
            if terms:
                clauses.append(f"{action} " + ", ".join(terms))
        removes = [name for name in change.remove if name not in change.set]
        if removes:
            for n, name in enumerate(removes):
                names[f"#r{n}"] = name
            clauses.append("REMOVE " + ", ".join(f"#r{n}" for n in range(len(removes))))
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": self._key(key),
            "UpdateExpression": " ".join(clauses),
            "ExpressionAttributeNames": names,
            "ReturnValues": "ALL_NEW",
        }
        if values:
            request["ExpressionAttributeValues"] = values
        if change.condition:
            request["ConditionExpression"] = change.condition
        try:
            reply = self.client.update_item(**request)
        except self._client_error as error:
            code = getattr(error, "response", {}).get("Error", {}).get("Code")
            if code != "ConditionalCheckFailedException":
                raise
            existing = self._get(key)
            return existing or {}, False
        return self._item(reply["Attributes"]), True

    def get_file(self, file_id: str) -> FileItem | None:
        return cast(FileItem | None, self._get({"pk": file_id, "sk": FILE_SK}))

    def list_chunks(self, file_id: str) -> list[ChunkItem]:
        items: list[Item] = []
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(
                TableName=self.table_name, ConsistentRead=True,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={":pk": self._value(file_id),
                                           ":prefix": self._value("CHUNK#")}):
            items.extend(self._item(item) for item in page.get("Items", []))
        return cast(list[ChunkItem], sorted(items, key=lambda item: item["sk"]))
