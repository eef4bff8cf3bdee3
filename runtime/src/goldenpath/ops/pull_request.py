"""One pull request per job, from one branch: the scheduled retrain's, the template update's.

`propose` commits what is staged on BRANCH, pushes it (with GH_TOKEN, as the workflows
run it) and opens a pull request with the body given, or updates the one open from that
branch: a job that runs every week proposes one change, not one a week.
"""

import base64
import json
import os
import subprocess
from pathlib import Path


def run(*command: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"ERROR: `{' '.join(command[:3])} ...` failed:\n{done.stderr.strip()}")
    return done.stdout


def github_login() -> dict[str, str]:
    """git's setting that logs in to github.com with GH_TOKEN, when it is set: as
    actions/checkout does, but for the commands given it only, never in .git/config."""
    token = os.environ.get("GH_TOKEN")
    if not token:
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {"http.https://github.com/.extraheader": f"AUTHORIZATION: basic {basic}"}


def github_auth() -> list[str]:
    """github_login() as options of one git command."""
    return [option for key, value in github_login().items() for option in ("-c", f"{key}={value}")]


def staged() -> bool:
    return bool(run("git", "diff", "--cached", "--name-only").strip())


def propose(branch: str, title: str, body: Path, push_hooks: bool = True) -> str:
    """Commit the index on `branch`, push it, open or update its pull request: what was done.

    push_hooks=False: a change the hooks refuse (conflict markers) is pushed all the same,
    for its pull request to show; the pre-push hook's `dvc push` is then skipped too.
    """
    run("git", "checkout", "-B", branch)
    # --no-verify: the hooks judge the change in its pull request's CI, as on any other.
    run("git", "commit", "--quiet", "--no-verify", "-m", title)
    verify = [] if push_hooks else ["--no-verify"]
    ref = f"HEAD:refs/heads/{branch}"
    run("git", *github_auth(), "push", *verify, "--force", "origin", ref)
    found = json.loads(
        run("gh", "pr", "list", "--head", branch, "--state", "open", "--json", "number")
    )
    if found:
        number = str(found[0]["number"])
        run("gh", "pr", "edit", number, "--title", title, "--body-file", str(body))
        return f"updated pull request #{number}"
    run("gh", "pr", "create", "--head", branch, "--title", title, "--body-file", str(body))
    return f"opened a pull request from {branch}"
