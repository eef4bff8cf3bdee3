"""One module per DVC stage (see dvc.yaml); each runs as `python -m <module> PATHS...`."""

import argparse
from pathlib import Path


def stage_paths(*names: str) -> argparse.Namespace:
    """The stage's file arguments, as dvc.yaml passes them."""
    parser = argparse.ArgumentParser()
    for name in names:
        parser.add_argument(name, type=Path)
    return parser.parse_args()
