"""One module per DVC stage (see dvc.yaml); each is run as `python -m <module> PATHS...`."""

import argparse
from pathlib import Path

import pandas as pd

from ..contract import FEATURES, ORDER_ID, TARGET


def stage_paths(*names: str) -> argparse.Namespace:
    """The stage's file arguments, as dvc.yaml passes them."""
    parser = argparse.ArgumentParser()
    for name in names:
        parser.add_argument(name, type=Path)
    return parser.parse_args()


def read_orders(path: Path) -> pd.DataFrame:
    """A validated order table, with the contract's dtypes."""
    dtypes = {feature.name: feature.dtype for feature in (*FEATURES, TARGET)}
    return pd.read_csv(path, dtype=dtypes | {ORDER_ID: int})


def write_table(table: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
