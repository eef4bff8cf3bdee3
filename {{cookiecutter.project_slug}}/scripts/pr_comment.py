"""Post a report on a pull request, or update the one posted before: one comment per PR.

    python3 scripts/pr_comment.py PR_NUMBER REPORT.md      (or: make pr-comment PR=... )

Uses the `gh` CLI (GH_TOKEN and GITHUB_REPOSITORY come from the workflow). The
comment to update is the one that carries the report's first line, its marker.
"""

import json
import os
import subprocess
import sys
from pathlib import Path


def gh_api(*args: str, body: str | None = None) -> str:
    payload = json.dumps({"body": body}) if body is not None else None
    command = ["gh", "api", *args] + (["--input", "-"] if payload else [])
    return subprocess.run(command, input=payload, check=True, capture_output=True, text=True).stdout


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: python3 scripts/pr_comment.py PR_NUMBER REPORT.md")
    number, report = sys.argv[1], Path(sys.argv[2]).read_text()
    repo = os.environ.get("GITHUB_REPOSITORY") or sys.exit("GITHUB_REPOSITORY is not set")
    marker = report.splitlines()[0]
    pages = json.loads(gh_api(f"repos/{repo}/issues/{number}/comments", "--paginate", "--slurp"))
    ours = [comment for page in pages for comment in page if marker in comment["body"]]
    if ours:
        gh_api("--method", "PATCH", f"repos/{repo}/issues/comments/{ours[-1]['id']}", body=report)
        print(f"updated comment {ours[-1]['id']} on #{number}")
    else:
        gh_api("--method", "POST", f"repos/{repo}/issues/{number}/comments", body=report)
        print(f"commented on #{number}")


if __name__ == "__main__":
    main()
