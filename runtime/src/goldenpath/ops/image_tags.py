"""The tags the serving image is pushed under, one per line, for IMAGE.

    python -m goldenpath.ops.image_tags IMAGE

Always `sha-<commit>`; on a branch, the branch name; on a tag vX.Y.Z, `X.Y.Z`,
`X.Y` and `X` (only `X.Y.Z` for a pre-release such as v1.2.0-rc.1). The ref
comes from GitHub's GITHUB_REF_TYPE / GITHUB_REF_NAME / GITHUB_SHA, else from git.
"""

import os
import re
import subprocess
import sys

SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?$")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout.strip()


def ref() -> tuple[str, str, str]:
    """(kind, name, commit) with kind 'branch' or 'tag'."""
    if os.environ.get("GITHUB_REF_NAME"):
        env = os.environ
        return env["GITHUB_REF_TYPE"], env["GITHUB_REF_NAME"], env["GITHUB_SHA"]
    commit = git("rev-parse", "HEAD")
    tag = subprocess.run(
        ["git", "describe", "--tags", "--exact-match"], capture_output=True, text=True
    ).stdout.strip()
    return ("tag", tag, commit) if tag else ("branch", git("branch", "--show-current"), commit)


def tags(kind: str, name: str, commit: str) -> list[str]:
    found = [f"sha-{commit[:7]}"]
    if kind == "tag":
        version = SEMVER.match(name)
        if not version:
            sys.exit(f"tag {name!r} is not a version: tag releases vMAJOR.MINOR.PATCH")
        major, minor, patch, pre = version.groups()
        found += [f"{major}.{minor}.{patch}{pre or ''}"]
        found += [] if pre else [f"{major}.{minor}", major]
    elif name:  # a detached HEAD has no branch name
        found.append(re.sub(r"[^A-Za-z0-9_.-]", "-", name)[:128])
    return found


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m goldenpath.ops.image_tags IMAGE")
    print("\n".join(f"{sys.argv[1]}:{tag}" for tag in tags(*ref())))


if __name__ == "__main__":
    main()
