"""Synthetic transactions CSV: about 1 % invalid rows of varied kinds, quoted merchants
(commas, quotes, a few multi-line). Large files for the split plan are a generated block
repeated (`tiled`); the block can be without any quote, or carry one long quoted note."""

from __future__ import annotations

import random
from pathlib import Path

HEADER = "transaction_id,account_id,transaction_date,amount,currency,merchant,category\n"
CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD"]
CATEGORIES = ["groceries", "dining", "travel", "utilities", "entertainment", "health",
              "shopping", "transfer", "other"]
PLAIN = ["Corner Grocery", "City Transit", "Blue Bottle Coffee", "Acme Utilities",
         "Northwind Books", "Harbor Pharmacy", "Cinema Paradiso", "Online Marketplace"]
QUOTED = ['"Acme, Inc."', '"Joe\'s ""Famous"" Pizza"', '"Smith, Jones & Co."']
MULTILINE = '"Farmers Market\nStall 12, North Square"'


def _row(rng: random.Random, n: int, quoted: bool = True) -> str:
    roll = rng.random()
    merchant = (MULTILINE if roll < 0.001 else rng.choice(QUOTED) if roll < 0.15
                else rng.choice(PLAIN)) if quoted else rng.choice(PLAIN)
    fields = [f"TX{n:010d}", f"AC{rng.randrange(100_000_000):08d}",
              f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
              f"{rng.randint(-100_000, 2_000_000) / 100:.2f}", rng.choice(CURRENCIES),
              merchant, rng.choice(CATEGORIES)]
    if rng.random() < 0.01:
        kind = rng.randrange(8)
        if kind == 0:
            fields[3] = "12.345"
        elif kind == 1:
            fields[4] = "XYZ"
        elif kind == 2:
            fields[2] = rng.choice(["2024-02-30", "2024-3-5", "0000-01-01"])
        elif kind == 3:
            fields[0] = "TX12"
        elif kind == 4:
            fields[3] = ""
        elif kind == 5:
            fields.append("extra")
        elif kind == 6:
            fields = fields[:5]
        else:
            fields[3] = "2500000.00"
    return ",".join(fields) + "\n"


def generate(path: Path, size_mb: float, seed: int = 1, quoted: bool = True) -> Path:
    """Write about `size_mb` MiB to `path` (kept between runs when the size matches)."""
    target = int(size_mb * 1024 * 1024)
    if path.exists() and abs(path.stat().st_size - target) < 64 * 1024:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    written = len(HEADER)
    n = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        while written < target:
            batch = "".join(_row(rng, n + k, quoted) for k in range(10_000))
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
