"""Deterministic files run through the process step, reduced to digests of its outputs.

`reject_equivalence.json` beside this file holds the digests recorded once; the test
(`test_reject_equivalence.py`) runs the same cases and compares, so any change to how
rejected rows are found, worded or written shows as a difference. Per case and chunk size:
each chunk's counts and reasons, the sha256 of each staged rejected object's exact bytes
and of each staged valid part's content (a Parquet part by its rows, a CSV part by its
bytes), or the error a chunk fails with.

Record again (only when outputs are meant to change):

    python -m tests.handlers.reject_equivalence
"""

from __future__ import annotations

import hashlib
import json
import random
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from benchmarks.generate import variant
from handlers import process, reject_lines, split, validate
from handlers.deps import Deps
from handlers.errors import PipelineError
from handlers.local_objects import LocalObjectStore
from handlers.metrics import CollectingMetrics
from handlers.settings import Settings
from handlers.status import SqliteStatusStore
from tests.handlers.conftest import SCHEMA_FILE, base_env
from tests.handlers.handler_rows import build_file, render

FIXTURE = Path(__file__).with_name("reject_equivalence.json")
INGESTED_AT = "2026-01-02T03:04:05.678901Z"
KEY = "incoming/equivalence.csv"
MIB = 1024 * 1024

WIDE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "count", "ratio", "flag", "at", "code"],
    "properties": {
        "id": {"type": "string", "pattern": "^(?=W)[A-Z0-9]{3,}$"},  # beyond RE2
        "count": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 1000,
                  "multipleOf": 3, "enum": [3, 6, 9, 12, 300, 999, 1002]},
        "ratio": {"type": ["number", "null"], "minimum": -1.5, "maximum": 1e300,
                  "multipleOf": 0.5},
        "flag": {"type": "boolean", "enum": [True]},
        "at": {"type": "string", "format": "date-time", "minLength": 20},
        "code": {"type": ["string", "null"], "minLength": 2, "maxLength": 4,
                 "pattern": "^[a-z]+$"},
        "big": {"type": "number", "multipleOf": 0.001},
        "float": {"type": "number", "exclusiveMinimum": -10, "exclusiveMaximum": 1e308},
    },
}
WIDE_HEADER = list(WIDE_SCHEMA["properties"])


@dataclass(frozen=True)
class Case:
    name: str
    data: Callable[[], bytes]
    chunk_sizes: tuple[int, ...]
    env: dict[str, str] = field(default_factory=dict)
    schema: dict[str, Any] | None = None  # None: the transactions schema


def _variant(percent: float, size: int) -> Callable[[], bytes]:
    def make() -> bytes:
        with tempfile.TemporaryDirectory() as folder:
            return variant(Path(folder) / "v.csv", size, percent, seed=23).read_bytes()
    return make


def _tx(n: int, **changes: str) -> list[str]:
    rng = random.Random(n)
    row = [f"TX{n:010d}", f"AC{rng.randrange(10**8):08d}",
           f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
           f"{rng.randint(-100_000, 200_000) / 100:.2f}", "EUR", "Shop", "other"]
    names = ["id", "account", "date", "amount", "currency", "merchant", "category"]
    for name, value in changes.items():
        row[names.index(name)] = value
    return row


TRICKY_VALUES: list[dict[str, str]] = [
    {"merchant": 'Line one\nline "two"\r\nthree'},
    {"amount": "12.345", "merchant": 'say "hi", \\ ok'},
    {"id": "TX12\t\x01\x7f", "currency": "XYZ"},
    {"id": "caf\u00e9\u2028\u2029\U0001f600", "date": "2024-02-30"},
    {"currency": "\ufeffEUR", "merchant": "\ufeff"},
    {"merchant": "é" * 120},  # maxLength, a long value cut for the message
    {"merchant": "x" * 58 + "\U0001f600\U0001f600\U0001f600"},
    {"merchant": ""},  # minLength (merchant is optional: absent passes)
    {"amount": "", "currency": "", "id": ""},  # several required missing
    {"amount": "1e999999999"}, {"amount": "1e-10000"}, {"amount": "abc\"def"},
    {"amount": "-1000000.01"}, {"amount": "99999999"}, {"amount": "+5", "category": "Food"},
    {"date": "0000-01-01"}, {"date": "2024-3-5"}, {"account": "AC1234567\\"},
    {"id": "TX00000000\u0661\u0662", "category": "\b\f\x1b\x1f"},
]


def tricky_file() -> bytes:
    rows: list[list[str]] = []
    for n in range(600):
        changes = TRICKY_VALUES[n % len(TRICKY_VALUES)] if n % 3 else {}
        rows.append(_tx(n, **changes))
        if n % 41 == 0:
            rows.append([*_tx(n + 10_000), "extra"])  # too many fields
        if n % 53 == 0:
            rows.append(_tx(n + 20_000)[: n % 6 + 1])  # too few
        if n % 67 == 0:
            rows.append(["\ufeffTX0000000001", *_tx(n)[1:]])  # U+FEFF that starts a record
    data, _ = build_file(rows)
    blank_lines = data.replace(b"\nTX0000000300", b"\n\n\nTX0000000300")
    crlf, _ = build_file(rows[:80], newline="\r\n")
    return blank_lines + crlf.split(b"\r\n", 1)[1]


def unterminated_file() -> bytes:
    data, _ = build_file([_tx(n, amount="1.001" if n % 2 else "1.00") for n in range(300)])
    return data + b'TX0000009999,AC00000001,2024-01-01,1.00,EUR,"never closed\nmore,stuff\n'


def latin1_file() -> bytes:
    rows = [_tx(n, merchant="Caf\u00e9 M\u00fcller", currency="\u00a3" if n % 2 else "EUR")
            for n in range(400)]
    data, _ = build_file(rows)
    return data.decode("utf-8").encode("latin-1")


def undecodable_file() -> bytes:
    data, _ = build_file([_tx(n, currency="X" if n % 3 else "EUR") for n in range(500)])
    return data.replace(b"TX0000000250,", b"TX0000000250\xe9\xff,")


def oversized_file() -> bytes:
    note = "".join(f"Caf\u00e9 line {n}: see \"attached\", ok\r\n" for n in range(5000))
    rows = [_tx(n, amount="0.001" if n % 4 == 0 else "1.00") for n in range(300)]
    rows.insert(150, _tx(99_999, merchant=note))
    data, _ = build_file(rows)
    bad = f'TX0000088888,AC00000001,2024-01-01,1.00,EUR,"{note}'.encode()
    bad = bad[:5000] + b"\xe9\xfe" + bad[5000:] + b'",other\n'
    return data + bad


def tiny_rows_file(rows: int = 20_000) -> bytes:
    """Rows far smaller than their rejects: `,,,,,,` and near-empty rows."""
    lines = []
    for n in range(rows):
        lines.append([",,,,,,", ",,,,,", "a,,,,,,", ",,,,,,,", "\"\",,,,,,"][n % 5])
    return (",".join(_header()) + "\n" + "\n".join(lines) + "\n").encode()


def _header() -> list[str]:
    return ["transaction_id", "account_id", "transaction_date", "amount", "currency",
            "merchant", "category"]


def wide_file() -> bytes:
    rng = random.Random(3)
    ids = ["WAB1", "XAB1", "W\u00e9", "W1", "", "WZZZZZZZ"]
    counts = ["3", "0", "1000", "4", "-3", "9223372036854775808", "1.5", "", "999", "1002"]
    ratios = ["0.5", "-2", "0.25", "", "1e301", "1e-1", "abc", "1.0"]
    flags = ["true", "false", "TRUE", "", "1"]
    ats = ["2024-01-01T00:00:00Z", "2024-01-01T00:00:00.1234567Z", "2024-13-01T00:00:00Z",
           "2024-01-01T00:00:00+01:00", "2024-01-01 00:00:00Z", "", "2024-01-01T24:00:00Z"]
    codes = ["ab", "a", "abcde", "AB", "", "\u00e9\u00e9"]
    bigs = ["1.001", "1.0001", "1e40", "1e38", "99999999999999999999999999999999999.999",
            "100000000000000000000000000000000000", ""]
    floats = ["1", "-10", "1e309", "1e308", "-9.99", "", "1e-400"]
    columns = [ids, counts, ratios, flags, ats, codes, bigs, floats]
    rows = [[values[0] if rng.random() < 0.8 else rng.choice(values) for values in columns]
            for _ in range(3000)]
    lines = [",".join(WIDE_HEADER)] + [render(row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def cases() -> list[Case]:
    small = (8192, 20_000)
    return [
        Case("variant-1pct", _variant(1, 2 * MIB), (MIB, 8 * MIB)),
        Case("variant-50pct", _variant(50, 2 * MIB), (700 * 1024, 8 * MIB),
             {"LINEAGE": "false"}),
        Case("variant-100pct", _variant(100, 2 * MIB), (8 * MIB,)),
        Case("variant-100pct-csv", _variant(100, MIB), (300 * 1024,),
             {"OUTPUT_FORMAT": "csv", "LINEAGE": "false"}),
        Case("variant-50pct-by-date", _variant(50, MIB), (400 * 1024,),
             {"PARTITION_BY": "transaction_date:month"}),
        Case("tricky", tricky_file, (8192, 20_000, 8 * MIB)),
        Case("tricky-no-lineage-csv", tricky_file, small,
             {"LINEAGE": "false", "OUTPUT_FORMAT": "csv"}),
        Case("unterminated", unterminated_file, (4096, 8 * MIB)),
        Case("latin-1", latin1_file, (8192, 8 * MIB), {"CSV_ENCODING": "latin-1"}),
        Case("undecodable", undecodable_file, (8192,)),
        Case("oversized", oversized_file, (20_000,),
             {"PROCESS_MEMORY_MB": "1", "PROCESS_STORAGE_MB": "512"}),
        Case("tiny-rows", tiny_rows_file, (8 * MIB, 16 * 1024)),
        Case("wide", wide_file, (8 * MIB, 16 * 1024), {"PARTITION_BY": "ingest_date"},
             WIDE_SCHEMA),
    ]


@contextmanager
def lines_built(python_rows: int) -> Iterator[None]:
    """Rejected lines worded in Python for pieces of at most `python_rows` rejected rows
    (-1: none, every line built column-wise)."""
    saved = reject_lines.PYTHON_ROWS
    reject_lines.PYTHON_ROWS = python_rows
    try:
        yield
    finally:
        reject_lines.PYTHON_ROWS = saved


@contextmanager
def small_pieces() -> Iterator[None]:
    """Pieces of a few KiB, so small chunks are cut and checked side by side too."""
    saved = process.PIECE_MIN_BYTES, process.PIECE_TARGET_BYTES
    process.PIECE_MIN_BYTES, process.PIECE_TARGET_BYTES = 16 * 1024, 48 * 1024
    try:
        yield
    finally:
        process.PIECE_MIN_BYTES, process.PIECE_TARGET_BYTES = saved


def _rows_digest(path: Path) -> str:
    """The part's columns and rows; read as one file (no partition columns from the key
    folders) and values written out alike by every pyarrow version."""
    table = pq.ParquetFile(path).read()
    text = json.dumps({"schema": [str(f) for f in table.schema],
                       "rows": table.to_pylist()}, default=_plain, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(value: Any) -> str:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value) if isinstance(value, Decimal) else repr(value)


def _relative(key: str, identity: str) -> str:
    return key.replace(identity, "<id>")


def run_case(case: Case, chunk_size: int) -> dict[str, Any]:
    """The digests of one case at one chunk size."""
    with tempfile.TemporaryDirectory(prefix="reject-equivalence-") as folder:
        root = Path(folder)
        schema_file = SCHEMA_FILE
        if case.schema is not None:
            schema_file = str(root / "schema.json")
            Path(schema_file).write_text(json.dumps(case.schema), encoding="utf-8")
        env = base_env(**{"CHUNK_SIZE_BYTES": str(chunk_size), "SCHEMA_FILE": schema_file,
                          **case.env})
        settings = Settings.from_env(env)
        store = LocalObjectStore(root / "bucket")
        deps = Deps(settings=settings, objects=store,
                    status=SqliteStatusStore(root / "status.sqlite"), queue=None,
                    metrics=CollectingMetrics(),
                    schema=json.loads(Path(schema_file).read_text(encoding="utf-8")))
        data = case.data()
        store.put_bytes(KEY, data)
        source = {"bucket": "local", "key": KEY, "version_id": "v1", "size": len(data)}
        try:
            file = validate.handle({"source": source, "execution_id": "e"}, deps)
            file["ingested_at"] = INGESTED_AT
            plan = split.handle({"file": file}, deps)
        except PipelineError as error:
            return {"error": f"{type(error).__name__}: {error}"}
        chunks = []
        for chunk in plan["chunks"]:
            chunks.append(_chunk(deps, store, file, chunk))
        return {"chunks": chunks}


def _chunk(deps: Deps, store: LocalObjectStore, file: dict[str, Any],
           chunk: dict[str, Any]) -> dict[str, Any]:
    from handlers.identity import run_identity

    identity = run_identity(deps.settings, deps.schema).short
    try:
        counts = process.handle({"file": file, "chunk": chunk}, deps)
    except Exception as error:  # a failing chunk is an outcome too
        return {"chunk": chunk, "error": f"{type(error).__name__}: {error}"}
    item = next(i for i in deps.status.list_chunks(file["file_id"])
                if int(i["index"]) == chunk["index"])
    outputs = {}
    for key in store.list_keys("staging/"):
        path = store.path_of(key)
        if f"/{identity}/" not in key or f"-{chunk['start']}-{chunk['end']}." not in key:
            continue
        if key.endswith(".parquet"):
            digest = _rows_digest(path)
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        outputs[_relative(key, identity)] = digest
    return {"chunk": chunk, "counts": counts,
            "reasons": [list(reason) for reason in item.get("reasons", [])],
            "rejected_key": _relative(str(item.get("staged_rejected_key", "")), identity),
            "outputs": outputs}


def record_all() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for case in cases():
        for size in case.chunk_sizes:
            found[f"{case.name}@{size}"] = run_case(case, size)
    return found


if __name__ == "__main__":
    FIXTURE.write_text(json.dumps(record_all(), indent=1, sort_keys=True) + "\n",
                       encoding="utf-8")
    print(f"wrote {FIXTURE}")
