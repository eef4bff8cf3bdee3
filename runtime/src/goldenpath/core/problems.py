"""Problems a user can fix: their message says what is wrong and how to fix it.

Command-line entry points run through `report_problems`, which prints such a
problem as one message instead of a traceback; so does any program that imports this
module, for a Problem raised before that (importing an invalid usecase.py, say).
"""

import sys
from collections.abc import Callable
from pathlib import Path


class Problem(Exception):
    pass


def report_problems(main: Callable[[], None]) -> None:
    """Run `main` in a project of a supported layout; a Problem ends the program with its
    message and exit status 1."""
    from .project import check_layout  # here: project.py's own problems are Problems

    try:
        check_layout(Path.cwd())
        main()
    except Problem as problem:
        sys.exit(f"error: {problem}")


def _problem_without_traceback(kind, error, traceback) -> None:
    if isinstance(error, Problem):
        print(f"error: {error}", file=sys.stderr)
    else:
        sys.__excepthook__(kind, error, traceback)


sys.excepthook = _problem_without_traceback
