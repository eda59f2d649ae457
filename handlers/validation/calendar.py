"""Proleptic Gregorian calendar arithmetic on whole numpy columns."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.integer]


def days_in_month(year: Ints, month: Ints) -> Ints:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    table = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int64)
    safe_month = np.clip(month, 0, 12)
    days: Ints = table[safe_month] + ((safe_month == 2) & leap)
    return days


def valid_dates(year: Ints, month: Ints, day: Ints) -> npt.NDArray[np.bool_]:
    return ((year >= 1) & (month >= 1) & (month <= 12) & (day >= 1)
            & (day <= days_in_month(year, month)))


def days_from_civil(year: Ints, month: Ints, day: Ints) -> Ints:
    """Days since 1970-01-01 of valid proleptic Gregorian dates (vectorized)."""
    y = year.astype(np.int64) - (month <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    m = month.astype(np.int64)
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + day.astype(np.int64) - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days: Ints = era * 146097 + doe - 719468
    return days
