"""Open, or update, the one pull request of the scheduled retrain.

    python -m goldenpath.ops.retrain_pr REPORT.md      (or: make retrain-pr, after make retrain)

Commits what the retrain changed (dvc.lock, the imported tables' .dvc files, the
reports) on the branch `retrain/scheduled`, pushes it (with GH_TOKEN, as the
workflow runs it), and opens a pull request with REPORT.md as its body, or
updates the one open from that branch. Nothing changed: nothing is pushed.
"""

import sys
from pathlib import Path

from goldenpath.ops.pull_request import propose, run, staged

BRANCH = "retrain/scheduled"
TITLE = "Retrain on fresh data"


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m goldenpath.ops.retrain_pr REPORT.md")
    report = Path(sys.argv[1])
    run("git", "add", "--update")  # only what git tracks: the retrain's changes, no stray files
    if not staged():
        print("the retrain changed nothing: no pull request")
        return
    print(propose(BRANCH, TITLE, report))


if __name__ == "__main__":
    main()
