"""Open, or update, the one pull request of the scheduled retrain.

    python -m goldenpath.ops.retrain_pr REPORT.md      (or: make retrain-pr, after make retrain)

Commits what the retrain changed (dvc.lock, the imported tables' .dvc files, the
reports) on the branch `retrain/scheduled`, pushes it (with GH_TOKEN, as the
workflow runs it), and opens a pull request with REPORT.md as its body, or
updates the one open from that branch. Nothing changed: nothing is pushed.
"""

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

BRANCH = "retrain/scheduled"
TITLE = "Retrain on fresh data"


def run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def push() -> None:
    auth = []
    if token := os.environ.get("GH_TOKEN"):  # as actions/checkout would, for this command only
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        auth = ["-c", f"http.https://github.com/.extraheader=AUTHORIZATION: basic {basic}"]
    run("git", *auth, "push", "--force", "origin", f"HEAD:refs/heads/{BRANCH}")


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m goldenpath.ops.retrain_pr REPORT.md")
    report = Path(sys.argv[1])
    run("git", "add", "--update")  # only what git tracks: the retrain's changes, no stray files
    if not run("git", "diff", "--cached", "--name-only").strip():
        print("the retrain changed nothing: no pull request")
        return
    run("git", "checkout", "-B", BRANCH)
    run("git", "commit", "--quiet", "--no-verify", "-m", TITLE)
    push()
    open_ones = run("gh", "pr", "list", "--head", BRANCH, "--state", "open", "--json", "number")
    found = json.loads(open_ones)
    if found:
        number = str(found[0]["number"])
        run("gh", "pr", "edit", number, "--body-file", str(report))
        print(f"updated pull request #{number}")
    else:
        run("gh", "pr", "create", "--head", BRANCH, "--title", TITLE, "--body-file", str(report))
        print(f"opened a pull request from {BRANCH}")


if __name__ == "__main__":
    main()
