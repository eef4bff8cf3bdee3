"""Post a report on a pull request, or update the one posted before: one comment per PR.

    python3 scripts/pr_comment.py PR_NUMBER REPORT.md      (or: make pr-comment PR=... )

Uses the `gh` CLI (GH_TOKEN and GITHUB_REPOSITORY come from the workflow). The
comment to update is the one that starts with the report's first line, its marker.

In CI the report and the number come from a pull request's `ci` run, which a fork
controls: they are data, checked before anything is posted. An empty PR_NUMBER
means the number saved beside the report (`pr-number`, from that run's artifact);
it must be digits, and with HEAD_SHA set (the commit that run tested) that pull
request's head must be this commit, so a report can only land on its own PR.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

PR_NUMBER = re.compile(r"[1-9][0-9]{0,9}")
MARKER = re.compile(r"<!-- [a-z0-9-]+ -->")
MAX_BODY = 65536  # GitHub refuses a longer comment


def gh_api(*args: str, body: str | None = None) -> str:
    payload = json.dumps({"body": body}) if body is not None else None
    command = ["gh", "api", *args] + (["--input", "-"] if payload else [])
    return subprocess.run(command, input=payload, check=True, capture_output=True, text=True).stdout


def pull_request_number(given: str, report: Path) -> str:
    saved = report.with_name("pr-number")
    if not given and not saved.is_file():
        sys.exit(f"No pull request: give PR=<number>, or put it in {saved}.")
    number = given or saved.read_text().strip()
    if not PR_NUMBER.fullmatch(number):
        sys.exit(f"{number[:40]!r} is not a pull request number (digits).")
    return number


def checked_report(path: Path) -> tuple[str, str]:
    """The report's text and marker, refused unless it is a plain markdown comment."""
    text = path.read_text()
    marker = text.splitlines()[0] if text else ""
    if not MARKER.fullmatch(marker):
        sys.exit(f"{path} must start with a marker line like <!-- metrics-report -->.")
    if len(text) > MAX_BODY:
        sys.exit(f"{path} has {len(text)} characters; a comment holds {MAX_BODY} at most.")
    return text, marker


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: python3 scripts/pr_comment.py PR_NUMBER REPORT.md")
    report_path = Path(sys.argv[2])
    number = pull_request_number(sys.argv[1], report_path)
    report, marker = checked_report(report_path)
    repo = os.environ.get("GITHUB_REPOSITORY") or sys.exit("GITHUB_REPOSITORY is not set")
    tested = os.environ.get("HEAD_SHA")
    if tested:
        head = json.loads(gh_api(f"repos/{repo}/pulls/{number}"))["head"]["sha"]
        if head != tested:
            sys.exit(f"#{number} is at {head}, this report is for {tested}: not posted.")
    pages = json.loads(gh_api(f"repos/{repo}/issues/{number}/comments", "--paginate", "--slurp"))
    ours = [comment for page in pages for comment in page if comment["body"].startswith(marker)]
    if ours:
        gh_api("--method", "PATCH", f"repos/{repo}/issues/comments/{ours[-1]['id']}", body=report)
        print(f"updated comment {ours[-1]['id']} on #{number}")
    else:
        gh_api("--method", "POST", f"repos/{repo}/issues/{number}/comments", body=report)
        print(f"commented on #{number}")


if __name__ == "__main__":
    main()
