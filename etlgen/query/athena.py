"""The same SQL through Athena, in the deployed stack's workgroup and database.

The stack's outputs name them (`WorkGroupName`, `DatabaseName`, present when the catalog
is on). The workgroup enforces its own result location and encryption, so the query
passes none. Results come back as text with the column types beside them; they are
converted to the Python values DuckDB gives, so both print the same table.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from etlgen.errors import UsageError
from etlgen.query.results import QueryError, QueryResult

WAIT_SECONDS = (0.2, 0.5, 1.0, 2.0)  # between status checks, the last one repeated
DONE = {"SUCCEEDED", "FAILED", "CANCELLED"}
_CONVERT: dict[str, Callable[[str], Any]] = {
    "tinyint": int, "smallint": int, "integer": int, "int": int, "bigint": int,
    "double": float, "float": float, "real": float, "decimal": Decimal,
    "boolean": lambda text: text.lower() == "true",
}


def stack_names(cloudformation: Any, stack: str) -> tuple[str, str]:
    """(workgroup, database) from the stack's outputs."""
    from botocore.exceptions import ClientError

    try:
        reply = cloudformation.describe_stacks(StackName=stack)
    except ClientError as error:
        raise UsageError(f"--stack {stack}: {error.response['Error'].get('Message')}") from None
    outputs = {o["OutputKey"]: o["OutputValue"]
               for o in reply["Stacks"][0].get("Outputs", [])}
    missing = [name for name in ("WorkGroupName", "DatabaseName") if name not in outputs]
    if missing:
        raise UsageError(f"--stack {stack}: the stack has no {' or '.join(missing)} output "
                         "(was it deployed with catalog.enabled false?)")
    return outputs["WorkGroupName"], outputs["DatabaseName"]


def run_athena(sql: str, stack: str, *, athena: Any = None, cloudformation: Any = None,
               sleep: Callable[[float], None] = time.sleep) -> QueryResult:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    athena = athena or boto3.client("athena")
    workgroup, database = stack_names(cloudformation or boto3.client("cloudformation"), stack)
    try:
        started = athena.start_query_execution(
            QueryString=sql, WorkGroup=workgroup,
            QueryExecutionContext={"Database": database})
        query_id = started["QueryExecutionId"]
        status = _wait(athena, query_id, sleep)
        if status["State"] != "SUCCEEDED":
            reason = status.get("StateChangeReason") or status["State"].lower()
            raise QueryError(f"query failed: {' '.join(str(reason).split())}")
        return _results(athena, query_id)
    except ClientError as error:
        message = error.response.get("Error", {}).get("Message") or str(error)
        raise QueryError(f"query failed: {' '.join(message.split())}") from None
    except BotoCoreError as error:
        raise QueryError(f"Athena: {error}") from None


def _wait(athena: Any, query_id: str, sleep: Callable[[float], None]) -> dict[str, Any]:
    checks = 0
    while True:
        execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        status: dict[str, Any] = execution["Status"]
        if status["State"] in DONE:
            return status
        sleep(WAIT_SECONDS[min(checks, len(WAIT_SECONDS) - 1)])
        checks += 1


def _results(athena: Any, query_id: str) -> QueryResult:
    columns: list[str] = []
    types: list[str] = []
    rows: list[tuple[Any, ...]] = []
    first = True
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
        result_set = page["ResultSet"]
        if not columns:
            info = result_set.get("ResultSetMetadata", {}).get("ColumnInfo", [])
            columns = [column.get("Label") or column["Name"] for column in info]
            types = [str(column.get("Type", "varchar")).lower() for column in info]
        for row in result_set.get("Rows", []):
            texts = [cell.get("VarCharValue") for cell in row.get("Data", [])]
            if first and texts == columns:  # a SELECT's first row repeats the column labels
                first = False
                continue
            first = False
            rows.append(tuple(_value(text, kind) for text, kind in zip(texts, types,
                                                                       strict=False)))
    return QueryResult(columns, rows)


def _value(text: str | None, kind: str) -> Any:
    if text is None:
        return None
    convert = _CONVERT.get(kind.split("(", 1)[0])
    if convert is None:
        return text
    try:
        return convert(text)
    except (ValueError, ArithmeticError):
        return text
