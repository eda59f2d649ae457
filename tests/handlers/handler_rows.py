"""Builds CSV files from known rows, so tests know every row's offset and raw text."""

from __future__ import annotations

import random
from dataclasses import dataclass

HEADER = ["transaction_id", "account_id", "transaction_date", "amount", "currency",
          "merchant", "category"]
CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD"]
CATEGORIES = ["groceries", "dining", "travel", "utilities", "entertainment", "health",
              "shopping", "transfer", "other"]
MERCHANTS = ["Corner Shop", "Acme, Inc.", 'The "Best" Diner', "Café Müller", "Fuel & Go",
             "Line one\nline two", "Books\r\nand more", "Plain"]


@dataclass(frozen=True)
class Row:
    offset: int
    raw: str
    fields: list[str]


def quote(field: str, delimiter: str = ",") -> str:
    if any(c in field for c in (delimiter, '"', "\n", "\r")):
        return '"' + field.replace('"', '""') + '"'
    return field


def render(fields: list[str], delimiter: str = ",") -> str:
    return delimiter.join(quote(f, delimiter) for f in fields)


def build_file(rows: list[list[str]], *, header: list[str] = HEADER, newline: str = "\n",
               bom: bool = False, trailing_newline: bool = True,
               delimiter: str = ",") -> tuple[bytes, list[Row]]:
    """The file's bytes and, per data row, its byte offset and raw text."""
    out = bytearray(b"\xef\xbb\xbf" if bom else b"")
    out += render(header, delimiter).encode() + newline.encode()
    placed = []
    for n, fields in enumerate(rows):
        raw = render(fields, delimiter)
        placed.append(Row(len(out), raw, fields))
        out += raw.encode()
        if trailing_newline or n < len(rows) - 1:
            out += newline.encode()
    return bytes(out), placed


def valid_row(rng: random.Random, n: int) -> list[str]:
    cents = rng.randint(-100_000_00, 100_000_00)
    amount = f"{cents / 100:.2f}"
    return [f"TX{n:010d}", f"AC{rng.randint(0, 99_999_999):08d}",
            f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", amount,
            rng.choice(CURRENCIES), rng.choice(MERCHANTS + ["Shop"] * 10),
            rng.choice([*CATEGORIES, ""])]


INVALID_KINDS = ("amount_decimals", "currency", "date", "bad_id", "missing_amount",
                 "too_many", "too_few", "amount_range", "not_number", "long_merchant")


def invalid_row(rng: random.Random, n: int, kind: str) -> list[str]:
    row = valid_row(rng, n)
    if kind == "amount_decimals":
        row[3] = "12.345"
    elif kind == "currency":
        row[4] = "XYZ"
    elif kind == "date":
        row[2] = rng.choice(["2024-02-30", "2024-3-5", "0000-01-01", "2023-02-29"])
    elif kind == "bad_id":
        row[0] = "TX12"
    elif kind == "missing_amount":
        row[3] = ""
    elif kind == "too_many":
        row = [*row, "extra", "more"]
    elif kind == "too_few":
        row = row[:5]
    elif kind == "amount_range":
        row[3] = "1000000.01"
    elif kind == "not_number":
        row[3] = "12,50"
    elif kind == "long_merchant":
        row[5] = "M" * 101
    return row


def mixed_rows(count: int, seed: int = 7, invalid_every: int = 9) -> list[list[str]]:
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        if n % invalid_every == invalid_every - 1:
            rows.append(invalid_row(rng, n, INVALID_KINDS[(n // invalid_every)
                                                          % len(INVALID_KINDS)]))
        else:
            rows.append(valid_row(rng, n))
    return rows
