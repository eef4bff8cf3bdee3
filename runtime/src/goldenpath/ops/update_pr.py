"""Open, or update, the one pull request of the template update.

    python -m goldenpath.ops.update_pr REPORT.md      (or: make update-pr, after make update)

Commits everything the update changed on the branch `template-update` (copier updates a
clean working tree only, so every change is its own, new files too; conflicts as they
are, markers and all: REPORT.md names them, and the pull request's CI fails until they
are resolved on the branch), pushes it and opens a pull request with REPORT.md as its
body, or updates the one open from that branch. Nothing changed: nothing is pushed.

In a workflow GH_TOKEN must not be the workflow's own token: GitHub starts no CI for a
pull request that token opens, and refuses its pushes that change .github/workflows/.
"""

import os
import sys
from pathlib import Path

import yaml

from goldenpath.ops.pull_request import propose, run, staged
from goldenpath.ops.update import ANSWERS, MARKER

BRANCH = "template-update"
SECRET = "TEMPLATE_UPDATE_TOKEN"


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m goldenpath.ops.update_pr REPORT.md")
    report = Path(sys.argv[1])
    if not report.is_file() or not report.read_text().startswith(MARKER):
        sys.exit(f"ERROR: no update report in {report}: `make update` first, then make update-pr")
    if os.environ.get("GITHUB_ACTIONS") == "true" and not os.environ.get("GH_TOKEN"):
        sys.exit(
            f"ERROR: the secret {SECRET} is not set: a token that may push workflows and open"
            " pull requests (fine-grained: contents, pull requests and workflows, read and"
            f" write). `gh secret set {SECRET}`; the workflow's own token cannot start CI."
        )
    run("git", "add", "--all")
    if not staged():
        print("the update changed nothing: no pull request")
        return
    release = yaml.safe_load(ANSWERS.read_text())["_commit"]
    # Without the push hooks: they refuse a conflict's markers, and the update moves no data.
    print(propose(BRANCH, f"Update to template release {release}", report, push_hooks=False))


if __name__ == "__main__":
    main()
