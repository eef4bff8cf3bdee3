"""Take the template's newer release: `copier update`, and what it could not merge, named.

    python -m goldenpath.ops.update REPORT.md [VERSION]   (make update [TEMPLATE_VERSION=x.y.z])

copier renders the release that .copier-answers.yml records and the newest one (or
VERSION) from the recorded answers, and applies the difference to the project: a file
the team never changed takes the new version, the team's edits stay. Where both changed
the same lines, copier keeps both sides in the file, between conflict markers
(`--conflict inline`, not .rej files beside it: the conflict is where a review sees it,
git lists the file as unmerged until it is added, and CI's lint fails while a marker is
left). The template's task and migration bring the new runtime's wheel and re-lock uv.lock.

REPORT.md is the update's pull request's body (make update-pr): from which release to
which, the files changed, each conflict and what to do. Nothing is committed.
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import yaml

from goldenpath.ops.pull_request import github_login, run

ANSWERS = Path(".copier-answers.yml")
MARKER = "<!-- template-update -->"  # the report's first line, as retrain-report's
REMOTE = re.compile(r"^(gh:|gl:|git\+|https?://|git@|ssh://|file://)")  # what copier clones
VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")  # a tag or a commit, never an option
CONFLICT_LINES = ("<<<<<<< before updating", ">>>>>>> after updating")  # copier's markers
RESOLVE = (
    "In each, keep your lines (between `<<<<<<< before updating` and `=======`), the"
    " release's (between `=======` and `>>>>>>> after updating`) or a mix, and delete the"
    " marker lines; then `git add` the file, `make setup test repro`, and commit."
)


def fail(message: str) -> NoReturn:
    raise SystemExit(f"ERROR: {message}")


def recorded() -> dict:
    if not ANSWERS.is_file():
        fail(
            f"no {ANSWERS} here: this project does not record the template release it was"
            " made from (cookiecutter's bakes of 0.9.0 and older). Adopt it first, in the project's"
            " root: python3 <template>/migrations/adopt.py (MIGRATING.md in the template)."
        )
    answers = yaml.safe_load(ANSWERS.read_text()) or {}
    if not answers.get("_commit") or not answers.get("_src_path"):
        fail(f"{ANSWERS} names no release (_commit) or template (_src_path): restore it from git")
    source = str(answers["_src_path"])
    if not REMOTE.match(source) and not Path(source).expanduser().exists():
        fail(
            f"the template's source in {ANSWERS}, {source}, is not on this machine (a bake"
            " from a local clone): set `_src_path:` there to the template's git URL (e.g."
            " gh:your-org/goldenpath), commit it, then `make update` again"
        )
    return answers


def changes() -> list[str]:
    """git's status lines: untracked files each, so that a new template file is listed."""
    return run("git", "status", "--porcelain", "--untracked-files=all").splitlines()


def check_ready() -> dict:
    answers = recorded()
    if dirty := changes():
        listed = ", ".join(line[3:] for line in dirty[:5]) + (", ..." if len(dirty) > 5 else "")
        fail(
            f"uncommitted changes ({listed}): commit or stash them, then `make update` again"
            " (the update is reviewed on its own, and copier merges into a clean tree only)"
        )
    return answers


def require_copier() -> None:
    if importlib.util.find_spec("copier") is None:
        fail("copier is not installed here: `make setup` (the dev group has it), then again")


def copier_update(version: str | None) -> None:
    command = [sys.executable, "-m", "copier", "update", "--trust", "--defaults"]
    command += ["--conflict", "inline"]
    if version:
        if not VERSION.match(version):
            fail(f"{version!r} is not a template release: give a tag, e.g. 1.2.0")
        command += ["--vcs-ref", version]
    # A private template on GitHub: GH_TOKEN reads it (GIT_CONFIG_* reach copier's git).
    env = dict(os.environ)
    for key, value in github_login().items():
        count = int(env.get("GIT_CONFIG_COUNT", "0"))
        env |= {"GIT_CONFIG_COUNT": str(count + 1), f"GIT_CONFIG_KEY_{count}": key}
        env[f"GIT_CONFIG_VALUE_{count}"] = value
    if subprocess.run(command, env=env).returncode != 0:
        fail(
            "copier update failed (above). The working tree was clean before it:"
            " `git status` shows what it changed, `git checkout -- . && git clean -fd` undoes it."
        )


def conflicted(changed: list[str]) -> list[str]:
    """Files git holds as unmerged, or that hold copier's markers, and copier's .rej files."""
    found = dict.fromkeys(run("git", "diff", "--name-only", "--diff-filter=U").splitlines())
    for line in changed:
        path = Path(line[3:].split(" -> ")[-1].strip('"'))
        if path.suffix == ".rej":
            found[str(path)] = None
        elif path.is_file():
            text = path.read_bytes().decode(errors="replace").splitlines()
            if any(line.rstrip() in CONFLICT_LINES for line in text):
                found[str(path)] = None
    return sorted(found)


def lock_is_current() -> bool:
    """uv.lock matches pyproject.toml (or the project has no lock yet)."""
    uv = shutil.which("uv")
    if uv is None or not Path("uv.lock").is_file():
        return True
    return subprocess.run([uv, "lock", "--check", "--quiet"], capture_output=True).returncode == 0


def report(answers: dict, before: str, changed: list[str], conflicts: list[str]) -> str:
    after = answers["_commit"]
    if not changed:
        return f"{MARKER}\n# Template release {after}\n\nAlready on it: nothing to update.\n"
    lines = [
        MARKER,
        f"# Template update: {before} → {after}",
        "",
        f"`copier update` from `{answers['_src_path']}`: each file this project never changed"
        f" takes release {after}'s version, the team's edits are kept. What the release asks"
        " of a project: its entry in the template's CHANGELOG.",
        "",
    ]
    if conflicts:
        lines += [f"## Conflicts: {len(conflicts)} to resolve", ""]
        lines += ["Both this project and the release changed the same lines of:", ""]
        lines += [f"- `{path}`" for path in conflicts]
        lines += ["", RESOLVE + " CI's lint fails while a marker is left.", ""]
    else:
        lines += ["No conflicts: copier merged every change.", ""]
    if "pyproject.toml" not in conflicts and not lock_is_current():
        lines += ["uv.lock does not match pyproject.toml: `make setup` re-locks it.", ""]
    lines += [f"## Changed: {len(changed)} files", "", "```", *changed, "```", ""]
    lines += ["Then: `make setup test repro` and review the diff before merging.", ""]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: python -m goldenpath.ops.update REPORT.md [VERSION]")
    out = Path(sys.argv[1])
    before = check_ready()["_commit"]
    require_copier()
    copier_update(sys.argv[2] if len(sys.argv) == 3 else None)
    changed = changes()
    text = report(recorded(), before, changed, conflicted(changed))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"\n{text}\n(this report: {out})")


if __name__ == "__main__":
    main()
