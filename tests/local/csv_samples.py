"""Small transactions CSV files for local runs."""

from __future__ import annotations

import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEADER = "transaction_id,account_id,transaction_date,amount,currency,merchant,category"
CHUNK_BYTES = 2048  # a few hundred rows make several chunks
ROWS = 300
BAD_EVERY = 25  # every 25th row has an unknown currency: 12 of 300 rejected


def transaction_rows(count: int = ROWS, bad_every: int = BAD_EVERY, seed: int = 7) -> list[str]:
    """`count` rows; every `bad_every`-th one has an invalid currency (rejected)."""
    rng = random.Random(seed)
    rows = []
    for number in range(count):
        currency = "XXX" if bad_every and number % bad_every == bad_every - 1 else "EUR"
        merchant = '"Shop, ""Main"" St"' if number % 7 == 0 else f"Shop {number}"
        rows.append(
            f"TX{number:010d},AC{rng.randrange(10**8):08d},2024-0{1 + number % 9}-1{number % 9},"
            f"{rng.randrange(-50000, 50000) / 100:.2f},{currency},{merchant},groceries")
    return rows
