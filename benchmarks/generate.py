"""Synthetic transactions CSV with quoted merchants (commas, quotes, a few multi-line).

`generate` writes about 1 % invalid rows of eight kinds (the split plan's and the process
step's long-standing file); `variant` writes a file where a chosen share of the rows breaks
the row schema, each in one of the ways of `BREAKS` (patterns, enums, dates, amounts with
more than 2 decimals, bounds, lengths, missing fields, rows with too many or too few
fields). Large files for the split plan are a generated block repeated (`tiled`); the block
can be without any quote, or carry one long quoted note."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

HEADER = "transaction_id,account_id,transaction_date,amount,currency,merchant,category\n"
CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD"]
CATEGORIES = ["groceries", "dining", "travel", "utilities", "entertainment", "health",
              "shopping", "transfer", "other"]
PLAIN = ["Corner Grocery", "City Transit", "Blue Bottle Coffee", "Acme Utilities",
         "Northwind Books", "Harbor Pharmacy", "Cinema Paradiso", "Online Marketplace"]
QUOTED = ['"Acme, Inc."', '"Joe\'s ""Famous"" Pizza"', '"Smith, Jones & Co."']
MULTILINE = '"Farmers Market\nStall 12, North Square"'


Fields = list[str]
Break = Callable[[random.Random, Fields], Fields]


def _set(index: int, *texts: str) -> Break:
    """Replace field `index` with one of `texts`."""
    def apply(rng: random.Random, fields: Fields) -> Fields:
        fields[index] = rng.choice(texts) if len(texts) > 1 else texts[0]
        return fields
    return apply


def _append(rng: random.Random, fields: Fields) -> Fields:
    return [*fields, "extra"]


def _truncate(rng: random.Random, fields: Fields) -> Fields:
    return fields[:5]


def _long_merchant(rng: random.Random, fields: Fields) -> Fields:
    fields[5] = "Merchant " + "x" * rng.randint(92, 140)
    return fields


# The first eight are `generate`'s (their order and random draws keep its files unchanged).
LEGACY_BREAKS: tuple[Break, ...] = (
    _set(3, "12.345"),
    _set(4, "XYZ"),
    _set(2, "2024-02-30", "2024-3-5", "0000-01-01"),
    _set(0, "TX12"),
    _set(3, ""),
    _append,
    _truncate,
    _set(3, "2500000.00"),
)
BREAKS: tuple[Break, ...] = (
    *LEGACY_BREAKS,
    _set(0, "TX00000000001", "tx0000000001", "TX00000O0001"),  # pattern
    _set(1, "AC1234567", "AC123456789", "BC12345678"),  # pattern
    _set(1, ""),  # missing required field
    _set(2, "2024-13-01", "2023-02-29", "2024-04-31", "2024/01/15", "20240115", "soon"),
    _set(2, ""),
    _set(3, "0.001", "-7.125", "19.999"),  # more than 2 decimals
    _set(3, "12.5.1", "abc", "1e", "$12.00", "--5"),  # not a number
    _set(3, "-1000000.01", "1000000.01", "99999999"),  # bounds
    _set(4, "usd", "EURO", ""),  # enum, missing
    _set(6, "misc", "Groceries", "food"),  # enum of an optional field
    _long_merchant,  # maxLength
    lambda rng, fields: [*fields, "", ""],  # too many fields
    lambda rng, fields: fields[:rng.randint(1, 6)],  # too few fields
)


def _row(rng: random.Random, n: int, quoted: bool = True, invalid: float = 0.01,
         breaks: tuple[Break, ...] = LEGACY_BREAKS) -> str:
    roll = rng.random()
    merchant = (MULTILINE if roll < 0.001 else rng.choice(QUOTED) if roll < 0.15
                else rng.choice(PLAIN)) if quoted else rng.choice(PLAIN)
    fields = [f"TX{n:010d}", f"AC{rng.randrange(100_000_000):08d}",
              f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
              f"{rng.randint(-100_000, 2_000_000) / 100:.2f}", rng.choice(CURRENCIES),
              merchant, rng.choice(CATEGORIES)]
    if rng.random() < invalid:
        fields = breaks[rng.randrange(len(breaks))](rng, fields)
    return ",".join(fields) + "\n"


def generate(path: Path, size_mb: float, seed: int = 1, quoted: bool = True) -> Path:
    """Write about `size_mb` MiB to `path` (kept between runs when the size matches)."""
    target = int(size_mb * 1024 * 1024)
    if path.exists() and abs(path.stat().st_size - target) < 64 * 1024:
        return path
    return _write(path, target, random.Random(seed),
                  lambda rng, n: _row(rng, n, quoted))


def variant(path: Path, size_bytes: int, invalid_percent: float, seed: int = 11) -> Path:
    """At most `size_bytes` (whole rows) where `invalid_percent` % of the rows, drawn at
    random, break the row schema in one of the ways of `BREAKS`; kept between runs."""
    if path.exists():
        return path
    share = invalid_percent / 100
    temporary = path.with_name(path.name + ".partial")
    _write(temporary, size_bytes, random.Random(seed),
           lambda rng, n: _row(rng, n, invalid=share, breaks=BREAKS))
    return temporary.replace(path)


def _write(path: Path, target: int, rng: random.Random,
           row: Callable[[random.Random, int], str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    written = len(HEADER)
    n = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        while written < target:
            batch = "".join(row(rng, n + k) for k in range(10_000))
            n += 10_000
            last = written + len(batch) >= target
            if last:
                cut = batch.rfind("\nTX", 0, target - written) + 1
                batch = batch[:cut] if cut > 0 else batch
            out.write(batch)
            written += len(batch)
            if last:
                break
    return path


def repeated(path: Path, size_bytes: int, block: Path) -> Path:
    """About `size_bytes` (whole rows): `block`'s rows over and over; kept between runs."""
    if path.exists():
        return path
    body = block.read_bytes()[len(HEADER):]
    temporary = path.with_name(path.name + ".partial")
    with temporary.open("wb") as out:
        out.write(HEADER.encode())
        written = len(HEADER)
        while written + len(body) <= size_bytes:
            out.write(body)
            written += len(body)
        cut = body.rfind(b"\nTX", 0, max(0, size_bytes - written)) + 1
        out.write(body[:cut])
    return temporary.replace(path)


def tiled(path: Path, size_mb: float, block: Path, long_note_mb: float = 0.0) -> Path:
    """About `size_mb` MiB: `block`'s rows repeated (kept between runs when the size
    matches). With `long_note_mb`, each repetition starts with one row whose merchant is a
    quoted note of that many MiB: lines and commas, no quote."""
    target = int(size_mb * 1024 * 1024)
    if path.exists() and abs(path.stat().st_size - target) < 64 * 1024 * 1024:
        return path
    data = block.read_bytes()
    body = data[len(HEADER):]
    if long_note_mb:
        rng = random.Random(7)
        line = "".join(rng.choice("abcdefgh ,") for _ in range(79)) + "\n"
        note = line * int(long_note_mb * 1024 * 1024 / len(line))
        body = (f'TX9999999999,AC00000001,2024-01-01,1.00,USD,"{note}",other\n'.encode()
                + body)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".partial")
    with temporary.open("wb") as out:
        out.write(HEADER.encode())
        written = len(HEADER)
        while written < target:
            out.write(body)
            written += len(body)
    temporary.replace(path)
    return path
