"""One model per segment (the use case's `segment` feature) next to the global model.

The global model learns from every row. With `segment.per_segment`, each segment
with at least `segment.min_rows` training rows also gets a model of its own,
trained in parallel (fanout.py), registered as `<name>-<segment>` with its own gate.
The service uses a segment's model only where it beats the global champion on
that segment's holdout rows; every other segment gets the global model.
"""

import re

import pandas as pd

FOLDER = "segments"  # the sub-folder of a model set that holds the segments' models


def key(value: str) -> str:
    """`value` as a folder and registry name: letters, digits, '.', '_' and '-'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(value)).strip("-") or "segment"


def registered_name(model_name: str, value: str) -> str:
    return f"{model_name}-{key(value)}"


def groups(table: pd.DataFrame, by: str, min_rows: int) -> dict[str, pd.DataFrame]:
    """The rows of each segment that has at least `min_rows` of them, by segment value."""
    return {
        str(value): rows
        for value, rows in table.groupby(by, observed=True, sort=True)
        if len(rows) >= max(min_rows, 1)
    }
