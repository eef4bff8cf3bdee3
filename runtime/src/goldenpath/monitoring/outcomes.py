"""Outcomes: what actually happened to predicted orders, reported later under their key.

    python -m goldenpath.monitoring.outcomes FILE
    (or: make outcomes FILE=delivered.csv)

FILE is a CSV or Parquet table with two columns: the contract's key and its target
(order_id and delivery_minutes here). Every row is checked first (a whole key, given
once; a target within the contract's range); only then do they go, all together, to
the store PREDICTION_LOG names, where `make monitor` joins them to the predictions
logged under the same key. A key reported again replaces its earlier outcome. A
system of record can write the store's `outcomes` table (or folder) directly instead.
"""

import sys

import pandas as pd

from ..core.problems import Problem, report_problems
from ..core.project import use_case
from ..io.tables import read_table
from .store import LOCATION, Store, open_store


def add_outcomes(store: Store, table: pd.DataFrame, source: str) -> int:
    """Check `table` against the contract, then store all its rows; returns how many."""
    checked = use_case().contract.validate_outcomes(table, source)
    store.add_outcomes(checked)
    return len(checked)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    contract = use_case().contract
    store = open_store(contract)
    if store is None:
        raise Problem(f"{LOCATION}=off: set it to the store the service logs to")
    count = add_outcomes(store, read_table(sys.argv[1]), sys.argv[1])
    print(
        f"{count} outcomes ({contract.key}, {contract.target.name}) stored: make monitor joins them"
    )


if __name__ == "__main__":
    report_problems(main)
