"""Timestamps: how a table, a request and the model read one, and the calendar parts of it.

A timestamp is ISO 8601 text (`2026-03-06T20:15:00`) or a table's datetime. One with an
offset is taken in UTC; one without is taken as it is, so that a local time keeps its
local hour. The model never sees the timestamp itself (time only moves on, a model
learns nothing from where it was): it sees the calendar parts the contract names.
"""

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

# The calendar parts a contract may derive from a timestamp, and pandas' name of each.
CALENDAR = {
    "hour": "hour",
    "minute": "minute",
    "weekday": "dayofweek",  # Monday = 0
    "day": "day",
    "month": "month",
    "day_of_year": "dayofyear",
    "year": "year",
}
DEFAULT_CALENDAR = ("hour", "weekday", "month")
EXAMPLE = "2026-03-06T20:15:00"  # how an error shows a valid one
VALID = f"ISO 8601, e.g. {EXAMPLE}"
# To the microsecond, as Python's datetimes: any year a request may give (nanoseconds,
# pandas' default, end in 2262).
DTYPE = np.dtype("datetime64[us]")


def parsed(values: pd.Series) -> pd.Series:
    """`values` as naive datetimes (NaT where missing or not a timestamp)."""
    if pd.api.types.is_datetime64_any_dtype(values):  # a Parquet table's
        if values.dt.tz is not None:
            values = values.dt.tz_convert(UTC).dt.tz_localize(None)
        return values.astype(DTYPE)
    # One by one: a column may mix offsets, and times with and without one.
    times = [_one(value) for value in values.astype(object).tolist()]
    return pd.Series(np.array(times, dtype=DTYPE), index=values.index)


def _one(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    value = request_value(value)
    return value if isinstance(value, datetime) else None  # None: NaT


def request_value(value: Any) -> Any:
    """A request's timestamp: ISO 8601 text as a datetime; anything else as given, to refuse."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime) and value.tzinfo is not None:
        try:
            return value.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # year 1 or 9999 moved past the calendar's end: refused
            return str(value)
    return value


def as_text(value: Any) -> str | None:
    """A timestamp as JSON carries it (ISO 8601), or None for a missing one."""
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).isoformat()


def calendar_parts(times: Any, parts: list[tuple[str, ...]]) -> np.ndarray:
    """Each timestamp column's calendar `parts`, as numbers (NaN where it is missing): what
    the model takes in place of the timestamps. A module-level function, so that the saved
    model names it."""
    columns = pd.DataFrame(np.asarray(times, dtype=DTYPE))
    numbers = [
        getattr(columns[column].dt, CALENDAR[part]).to_numpy(dtype=np.float64, na_value=np.nan)
        for column, named in zip(columns.columns, parts, strict=True)
        for part in named
    ]
    return np.column_stack(numbers) if numbers else np.empty((len(columns), 0))
