"""The status table: one item per file and one per chunk, in DynamoDB or in SQLite.

Both stores keep the same items (see docs/architecture.md, "Status table") and share the
conditional rules, so a retried Lambda or a duplicate execution never counts rows twice, and
a change of configuration, schema or code is never mistaken for work already done (every
rule compares the run identity, `handlers.identity`):
- a file version already COMPLETED under the same identity is never restarted;
- a chunk already SUCCEEDED over the same byte range under the same identity is never
  restarted nor re-completed (the caller gets the recorded counts back), unless the caller
  redoes it on purpose (its staged outputs are gone).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

FILE_SK = "FILE"
RUNNING, COMPLETED, FAILED, SUCCEEDED = "RUNNING", "COMPLETED", "FAILED", "SUCCEEDED"
COUNT_FIELDS = ("rows_in", "rows_valid", "rows_rejected")


def chunk_sk(index: int) -> str:
    return f"CHUNK#{index:06d}"


def utc_now_text() -> str:
    """ISO 8601 UTC with milliseconds, the form Step Functions writes (`updated_at`)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StatusStore(Protocol):
    def get_file(self, file_id: str) -> dict[str, Any] | None: ...

    def start_file(self, file_id: str, attributes: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Mark RUNNING unless COMPLETED under `attributes["identity"]`; (item, started)."""

    def start_chunk(self, file_id: str, index: int, start: int, end: int, identity: str, *,
                    redo: bool = False) -> tuple[dict[str, Any], bool]:
        """Count an attempt unless SUCCEEDED over the same range and identity (or `redo`);
        returns (item, started)."""

    def complete_chunk(self, file_id: str, index: int, start: int, end: int, identity: str,
                       attributes: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Record SUCCEEDED with counts unless already SUCCEEDED so; returns (item, changed)."""

    def fail_chunk(self, file_id: str, index: int, error_name: str, error_cause: str) -> None: ...

    def list_chunks(self, file_id: str) -> list[dict[str, Any]]: ...

    def finish_file(self, file_id: str, status: str, attributes: dict[str, Any]) -> dict: ...

    def update_item(self, key: dict[str, Any], update_expression: str,
                    names: dict[str, str], values: dict[str, Any],
                    condition: str | None = None) -> None:
        """The state machine's `dynamodb:updateItem`; raises
        `ConditionalCheckFailedException` when `condition` does not hold."""


class ConditionalCheckFailedException(Exception):
    """The item did not meet the update's ConditionExpression (DynamoDB's error name)."""


@dataclass
class Change:
    """One conditional update, expressed once for both stores."""

    set: dict[str, Any] = field(default_factory=dict)
    add: dict[str, int] = field(default_factory=dict)
    remove: tuple[str, ...] = ()
    condition: str = ""  # DynamoDB ConditionExpression over #names / :values below
    condition_names: dict[str, str] = field(default_factory=dict)
    condition_values: dict[str, Any] = field(default_factory=dict)
    allows: Callable[[dict[str, Any] | None], bool] = lambda item: True


def _not_completed_as(identity: str) -> Callable[[dict[str, Any] | None], bool]:
    def allows(item: dict[str, Any] | None) -> bool:
        return not (item is not None and item.get("status") == COMPLETED
                    and item.get("identity") == identity)
    return allows


def _same_work_done(start: int, end: int,
                    identity: str) -> Callable[[dict[str, Any] | None], bool]:
    def allows(item: dict[str, Any] | None) -> bool:
        return not (item is not None and item.get("status") == SUCCEEDED
                    and item.get("start") == start and item.get("end") == end
                    and item.get("identity") == identity)
    return allows


def _chunk_condition(change: Change, start: int, end: int, identity: str) -> Change:
    change.condition = ("attribute_not_exists(pk) OR #c_status <> :c_succeeded "
                        "OR #c_start <> :c_start OR #c_end <> :c_end "
                        "OR attribute_not_exists(#c_identity) OR #c_identity <> :c_identity")
    change.condition_names = {"#c_status": "status", "#c_start": "start", "#c_end": "end",
                              "#c_identity": "identity"}
    change.condition_values = {":c_succeeded": SUCCEEDED, ":c_start": start, ":c_end": end,
                               ":c_identity": identity}
    change.allows = _same_work_done(start, end, identity)
    return change


class _StatusRules:
    """The item logic; subclasses supply `_apply` (conditional write) and the reads."""

    def __init__(self, ttl_days: int = 90, clock: Callable[[], float] = time.time) -> None:
        self.ttl_days = ttl_days
        self.clock = clock

    def _stamp(self) -> dict[str, Any]:
        return {"updated_at": utc_now_text(),
                "expires_at": int(self.clock()) + self.ttl_days * 86400}

    def _apply(self, key: dict[str, str], change: Change) -> tuple[dict[str, Any], bool]:
        raise NotImplementedError

    def start_file(self, file_id: str, attributes: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        identity = str(attributes.get("identity", ""))
        change = Change(
            set={**attributes, "status": RUNNING, "started_at": utc_now_text(), **self._stamp()},
            remove=("error_name", "error_cause", "manifest_key"),
            condition=("attribute_not_exists(pk) OR #f_status <> :f_completed "
                       "OR attribute_not_exists(#f_identity) OR #f_identity <> :f_identity"),
            condition_names={"#f_status": "status", "#f_identity": "identity"},
            condition_values={":f_completed": COMPLETED, ":f_identity": identity},
            allows=_not_completed_as(identity),
        )
        return self._apply({"pk": file_id, "sk": FILE_SK}, change)

    def start_chunk(self, file_id: str, index: int, start: int, end: int, identity: str, *,
                    redo: bool = False) -> tuple[dict[str, Any], bool]:
        change = Change(set={"status": RUNNING, "index": index, "start": start, "end": end,
                             "identity": identity, **self._stamp()},
                        add={"attempts": 1}, remove=("error_name", "error_cause"))
        if not redo:
            change = _chunk_condition(change, start, end, identity)
        return self._apply({"pk": file_id, "sk": chunk_sk(index)}, change)

    def complete_chunk(self, file_id: str, index: int, start: int, end: int, identity: str,
                       attributes: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        change = Change(set={**attributes, "status": SUCCEEDED, "index": index, "start": start,
                             "end": end, "identity": identity, **self._stamp()})
        return self._apply({"pk": file_id, "sk": chunk_sk(index)},
                           _chunk_condition(change, start, end, identity))

    def fail_chunk(self, file_id: str, index: int, error_name: str, error_cause: str) -> None:
        change = Change(
            set={"status": FAILED, "index": index, "error_name": error_name,
                 "error_cause": error_cause[:4000], **self._stamp()},
            condition="attribute_not_exists(pk) OR #c_status <> :c_succeeded",
            condition_names={"#c_status": "status"},
            condition_values={":c_succeeded": SUCCEEDED},
            allows=lambda item: item is None or item.get("status") != SUCCEEDED,
        )
        self._apply({"pk": file_id, "sk": chunk_sk(index)}, change)

    def finish_file(self, file_id: str, status: str, attributes: dict[str, Any]) -> dict:
        if status not in (COMPLETED, FAILED):
            raise ValueError(f"a file finishes COMPLETED or FAILED, not {status}")
        change = Change(set={**attributes, "status": status, **self._stamp()})
        item, _ = self._apply({"pk": file_id, "sk": FILE_SK}, change)
        return item


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal: give ints (or floats) back."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _storable(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, (list, tuple)):
        return [_storable(v) for v in value]
    if isinstance(value, dict):
        return {k: _storable(v) for k, v in value.items()}
    return value


_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def _to_dynamo(value: Any) -> dict[str, Any]:
    return _SERIALIZER.serialize(_storable(value))


def _from_dynamo_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(_DESERIALIZER.deserialize(v)) for k, v in item.items()}


class DynamoStatusStore(_StatusRules):
    """The status table in DynamoDB (boto3 client, service resource or Table resource)."""

    def __init__(self, client_or_resource: Any, table_name: str, ttl_days: int = 90,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(ttl_days, clock)
        meta = getattr(client_or_resource, "meta", None)
        client = getattr(meta, "client", None)
        # A resource's client converts Python values itself; a plain client wants them typed.
        self.typed = client is None
        self.client = client_or_resource if client is None else client
        self.table_name = table_name

    def _value(self, value: Any) -> Any:
        return _to_dynamo(value) if self.typed else _storable(value)

    def _key(self, key: dict[str, Any]) -> dict[str, Any]:
        return {k: self._value(v) for k, v in key.items()}

    def _item(self, item: dict[str, Any]) -> dict[str, Any]:
        return _from_dynamo_item(item) if self.typed else _plain(item)

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        reply = self.client.get_item(TableName=self.table_name, ConsistentRead=True,
                                     Key=self._key(key))
        item = reply.get("Item")
        return self._item(item) if item else None

    def _apply(self, key: dict[str, str], change: Change) -> tuple[dict[str, Any], bool]:
        names = dict(change.condition_names)
        values = {k: self._value(v) for k, v in change.condition_values.items()}
        clauses = []
        sets = []
        for n, (name, value) in enumerate(change.set.items()):
            names[f"#s{n}"] = name
            values[f":s{n}"] = self._value(value)
            sets.append(f"#s{n} = :s{n}")
        if sets:
            clauses.append("SET " + ", ".join(sets))
        adds = []
        for n, (name, value) in enumerate(change.add.items()):
            names[f"#a{n}"] = name
            values[f":a{n}"] = self._value(value)
            adds.append(f"#a{n} :a{n}")
        if adds:
            clauses.append("ADD " + ", ".join(adds))
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
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            existing = self._get(key)
            return existing or {}, False
        return self._item(reply["Attributes"]), True

    def get_file(self, file_id: str) -> dict[str, Any] | None:
        return self._get({"pk": file_id, "sk": FILE_SK})

    def list_chunks(self, file_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(
                TableName=self.table_name, ConsistentRead=True,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={":pk": self._value(file_id),
                                           ":prefix": self._value("CHUNK#")}):
            items.extend(self._item(item) for item in page.get("Items", []))
        return sorted(items, key=lambda item: item["sk"])

    def update_item(self, key: dict[str, Any], update_expression: str,
                    names: dict[str, str], values: dict[str, Any],
                    condition: str | None = None) -> None:
        key = _typed_key(key)
        if not self.typed:
            key = {k: _DESERIALIZER.deserialize(v) for k, v in key.items()}
            values = {k: _DESERIALIZER.deserialize(v) if _is_typed(v) else v
                      for k, v in values.items()}
        request: dict[str, Any] = {"TableName": self.table_name, "Key": key,
                                   "UpdateExpression": update_expression}
        if names:
            request["ExpressionAttributeNames"] = names
        if values:
            request["ExpressionAttributeValues"] = values
        if condition:
            request["ConditionExpression"] = condition
        try:
            self.client.update_item(**request)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            raise ConditionalCheckFailedException(
                error.response["Error"].get("Message", "The conditional request failed")
            ) from None


def _typed_key(key: dict[str, Any]) -> dict[str, Any]:
    """Accept `{"pk": "x"}` or DynamoDB-typed `{"pk": {"S": "x"}}`."""
    return {k: v if isinstance(v, dict) else {"S": str(v)} for k, v in key.items()}


_TYPE_TAGS = frozenset({"S", "N", "BOOL", "NULL", "L", "M", "SS", "NS", "B", "BS"})


def _is_typed(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _TYPE_TAGS


_SET_ASSIGNMENT = re.compile(r"^\s*(#?[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(:[A-Za-z0-9_]+)\s*$")


def parse_simple_set(update_expression: str, names: dict[str, str],
                     values: dict[str, Any]) -> dict[str, Any]:
    """`SET a = :x, #b = :y` with DynamoDB-typed values -> {"a": x, "b": y}."""
    text = update_expression.strip()
    if not text.upper().startswith("SET "):
        raise ValueError(f"unsupported update expression {update_expression!r}: "
                         "only 'SET name = :value, ...' is supported")
    assignments: dict[str, Any] = {}
    for part in text[4:].split(","):
        match = _SET_ASSIGNMENT.match(part)
        if not match:
            raise ValueError(f"unsupported assignment {part.strip()!r} in {update_expression!r}")
        name, placeholder = match.groups()
        if name.startswith("#"):
            if name not in names:
                raise ValueError(f"{name} is not in the expression attribute names")
            name = names[name]
        if placeholder not in values:
            raise ValueError(f"{placeholder} is not in the expression attribute values")
        value = values[placeholder]
        assignments[name] = _plain(_DESERIALIZER.deserialize(value)) if _is_typed(value) \
            else value
    return assignments


_CONDITION_TERM = re.compile(
    r"^(?:(?P<function>attribute_exists|attribute_not_exists)\s*\(\s*(?P<path>#?[A-Za-z_]\w*)"
    r"\s*\)|(?P<left>#?[A-Za-z_]\w*)\s*(?P<operator>=|<>)\s*(?P<value>:\w+))$")


def condition_holds(condition: str, item: dict[str, Any] | None, names: dict[str, str],
                    values: dict[str, Any]) -> bool:
    """A ConditionExpression of `attribute_exists(a)`, `attribute_not_exists(a)`,
    `a = :v` and `a <> :v` terms joined by AND / OR (AND first, as in DynamoDB), against
    the item as it is (None: no item). Anything else is refused, never guessed."""
    item = item or {}

    def attribute(token: str) -> str:
        if token.startswith("#"):
            if token not in names:
                raise ValueError(f"{token} is not in the expression attribute names")
            return names[token]
        return token

    def parsed(text: str) -> re.Match[str]:
        match = _CONDITION_TERM.match(text.strip())
        if match is None:
            raise ValueError(f"unsupported condition {text.strip()!r} in {condition!r}")
        if match["value"] and match["value"] not in values:
            raise ValueError(f"{match['value']} is not in the expression attribute values")
        attribute(match["path"] or match["left"])
        return match

    def holds(match: re.Match[str]) -> bool:
        if match["function"]:
            present = attribute(match["path"]) in item
            return present if match["function"] == "attribute_exists" else not present
        expected = values[match["value"]]
        if _is_typed(expected):
            expected = _plain(_DESERIALIZER.deserialize(expected))
        name = attribute(match["left"])
        # A missing attribute equals nothing, so `<>` holds (as moto's DynamoDB answers).
        equal = name in item and item[name] == expected
        return equal if match["operator"] == "=" else not equal

    alternatives = [[parsed(part) for part in re.split(r"\s+AND\s+", alternative)]
                    for alternative in re.split(r"\s+OR\s+", condition.strip())]
    return any(all(holds(match) for match in terms) for terms in alternatives)


class SqliteStatusStore(_StatusRules):
    """The same items in one SQLite file, safe for several processes writing at once.

    WAL journal, a generous busy timeout, and `BEGIN IMMEDIATE` around every
    read-check-write, so conditional updates are atomic across processes.
    """

    def __init__(self, path: str | os.PathLike[str], ttl_days: int = 90,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(ttl_days, clock)
        self.path = os.fspath(path)
        with closing(self._connect()) as connection, connection:
            connection.execute("CREATE TABLE IF NOT EXISTS items (pk TEXT NOT NULL, "
                               "sk TEXT NOT NULL, item TEXT NOT NULL, PRIMARY KEY (pk, sk))")

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        connection.execute("PRAGMA busy_timeout = 60000")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        return connection

    @staticmethod
    def _read(connection: sqlite3.Connection, key: dict[str, str]) -> dict[str, Any] | None:
        row = connection.execute("SELECT item FROM items WHERE pk = ? AND sk = ?",
                                 (key["pk"], key["sk"])).fetchone()
        return json.loads(row[0]) if row else None

    def _transaction(self, key: dict[str, str],
                     mutate: Callable[[dict[str, Any] | None], dict[str, Any] | None]
                     ) -> tuple[dict[str, Any], bool]:
        with closing(self._connect()) as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                existing = self._read(connection, key)
                updated = mutate(existing)
                if updated is None:
                    connection.execute("ROLLBACK")
                    return existing or {}, False
                connection.execute(
                    "INSERT INTO items (pk, sk, item) VALUES (?, ?, ?) "
                    "ON CONFLICT (pk, sk) DO UPDATE SET item = excluded.item",
                    (key["pk"], key["sk"], json.dumps(updated, sort_keys=True)))
                connection.execute("COMMIT")
                return updated, True
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise

    def _apply(self, key: dict[str, str], change: Change) -> tuple[dict[str, Any], bool]:
        def mutate(existing: dict[str, Any] | None) -> dict[str, Any] | None:
            if not change.allows(existing):
                return None
            item = dict(existing or {})
            item.update(key)
            for name in change.remove:
                item.pop(name, None)
            item.update(_plain(_storable(change.set)))
            for name, amount in change.add.items():
                item[name] = int(item.get(name, 0)) + amount
            return item

        return self._transaction(key, mutate)

    def get_file(self, file_id: str) -> dict[str, Any] | None:
        with closing(self._connect()) as connection:
            return self._read(connection, {"pk": file_id, "sk": FILE_SK})

    def list_chunks(self, file_id: str) -> list[dict[str, Any]]:
        with closing(self._connect()) as connection:
            rows = connection.execute(
                "SELECT item FROM items WHERE pk = ? AND sk LIKE 'CHUNK#%' ORDER BY sk",
                (file_id,)).fetchall()
        return [json.loads(row[0]) for row in rows]

    def update_item(self, key: dict[str, Any], update_expression: str,
                    names: dict[str, str], values: dict[str, Any],
                    condition: str | None = None) -> None:
        plain_key = {k: _plain(_DESERIALIZER.deserialize(v)) if isinstance(v, dict) else v
                     for k, v in key.items()}
        assignments = parse_simple_set(update_expression, names, values)
        if condition:  # refuse an unsupported condition before touching the store
            condition_holds(condition, None, names, values)

        def mutate(existing: dict[str, Any] | None) -> dict[str, Any]:
            if condition and not condition_holds(condition, existing, names, values):
                raise ConditionalCheckFailedException("The conditional request failed")
            item = dict(existing or {})
            item.update(plain_key)
            item.update(assignments)
            return item

        self._transaction({"pk": str(plain_key["pk"]), "sk": str(plain_key["sk"])}, mutate)
