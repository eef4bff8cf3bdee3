"""One module per DVC stage (see dvc.yaml); each runs as `python -m <module> PATHS...`."""

import argparse
import sys
from pathlib import Path

from ..core.problems import Problem


def _problem_without_traceback(kind, error, traceback) -> None:
    """A Problem raised before a job's `report_problems` runs (while importing usecase.py,
    say) ends the job with its message too, not a traceback."""
    if isinstance(error, Problem):
        print(f"error: {error}", file=sys.stderr)
    else:
        sys.__excepthook__(kind, error, traceback)


sys.excepthook = _problem_without_traceback


def stage_paths(*names: str) -> argparse.Namespace:
    """The stage's file arguments, as dvc.yaml passes them."""
    parser = argparse.ArgumentParser()
    for name in names:
        parser.add_argument(name, type=Path)
    return parser.parse_args()
