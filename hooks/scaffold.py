"""Turn the rendered files into a working repository: for cookiecutter and copier alike.

    python hooks/scaffold.py copy|update|merged      (in the new project's folder)

After a copy: the goldenpath runtime's wheel in wheels/ (unless a package index serves
it), the default DVC remote on a local directory, a `.env` with fresh secrets, and git
with a first commit (DVC experiments need one). On an update, copier runs the task
(`update`: the new release's wheel) on the new release's files before it merges the
team's changes in, and then the migration that runs after every update (`merged`): in a
project that is set up, uv.lock re-locked on the merged pyproject.toml, the settings new
in .env.example added to `.env`, and the files where both sides changed the same lines
named. Nothing is committed (the update is reviewed first); the DVC remote and what
`.env` holds stay as they are.
"""

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

TEMPLATE = Path(__file__).resolve().parents[1]
ANSWERS_FILE = Path(".copier-answers.yml")


def local_dvc_remote(slug: str) -> Path:
    """A directory outside the project, so a fresh clone on this machine can pull.

    Unique to this project (not only its slug): `dvc gc -c` in one project must
    never delete another's data.
    """
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "dvc-remotes" / f"{slug}-{secrets.token_hex(4)}"


def uv() -> str:
    found = shutil.which("uv")
    if found is None:
        sys.exit("ERROR: uv is not on PATH: install it (https://docs.astral.sh/uv/), then again.")
    return found


def bundle_runtime() -> None:
    """The runtime's wheel, built from the template's runtime/, as the project's source."""
    for old in Path("wheels").glob("goldenpath-*.whl"):  # an update's previous release
        old.unlink()
    built = subprocess.run(
        [uv(), "build", "--quiet", "--wheel", "--out-dir", "wheels", str(TEMPLATE / "runtime")],
        capture_output=True,
        text=True,
    )
    if built.returncode != 0:
        sys.exit(f"ERROR: building the goldenpath runtime's wheel failed:\n{built.stderr}")
    (Path("wheels") / ".gitignore").unlink(missing_ok=True)  # uv's: the wheel is committed


def git(*args: str) -> None:
    subprocess.run(["git", *args], check=True, stdout=subprocess.DEVNULL)


def commit_scaffold(answers: dict) -> None:
    git("init", "-q", "-b", "main")
    configured = subprocess.run(["git", "config", "user.email"], capture_output=True)
    if configured.returncode != 0:  # no identity yet: this repository uses the answers
        git("config", "user.name", answers["author_name"])
        git("config", "user.email", answers["author_email"])
    git("add", "-A")
    git("commit", "-q", "-m", "Scaffold from the goldenpath template")


def copied(answers: dict) -> None:
    if not answers["package_index"]:
        bundle_runtime()
    remote = local_dvc_remote(answers["project_slug"])
    with Path(".dvc/config").open("a") as config:
        config.write(f"['remote \"local\"']\n    url = {remote}\n")
    subprocess.run([sys.executable, "scripts/new_env.py"], check=True)
    commit_scaffold(answers)
    print(
        f"\nCreated {Path.cwd()}\n"
        f"DVC remote: {remote} (see README to switch to S3, GCS or Azure)\n\n"
        "Next:\n"
        f"  cd {Path.cwd().name}\n"
        "  make quickstart   # setup, train and register a champion, ask it for a prediction\n"
        "  make stack        # or all of it on the local stack (Docker), which prints its URLs;\n"
        "                    # MLflow login: MLFLOW_TRACKING_USERNAME and _PASSWORD in .env\n"
        "  make help         # every other target\n"
    )


def updated(answers: dict) -> None:
    if not answers["package_index"]:
        bundle_runtime()


def merged() -> None:
    """After the merge: the lock follows the new release's pins and the team's own."""
    listed = subprocess.run(
        ["git", "diff", "--name-only", "--diff-filter=U"], capture_output=True, text=True
    )
    unmerged = list(dict.fromkeys(listed.stdout.splitlines()))  # once each, in git's order
    if "pyproject.toml" in unmerged:
        print("pyproject.toml has conflicts: `make setup` re-locks uv.lock once they are resolved")
    elif Path("uv.lock").is_file():  # set up
        locked = subprocess.run([uv(), "lock", "--quiet"], capture_output=True, text=True)
        if locked.returncode != 0:  # the update is merged all the same: the lock is a fix away
            print(f"WARNING: uv lock failed, uv.lock is the old release's:\n{locked.stderr}")
            print("Fix pyproject.toml, then `make setup` re-locks.")
    if Path("scripts/new_env.py").is_file() and "scripts/new_env.py" not in unmerged:
        # The settings a new release's stack reads: .env is this copy's, copier never sees it.
        subprocess.run([sys.executable, "scripts/new_env.py", "--missing"], check=True)
    if unmerged:
        print("\nBoth the team and the template changed the same lines of:")
        print("".join(f"  {path}\n" for path in unmerged), end="")
        print(
            "copier kept both sides between `<<<<<<< before updating` (yours), `=======` and"
            " `>>>>>>> after updating` (the release's): keep what you want, delete the"
            " markers, `git add` the file."
        )
    print("Next: `make setup test repro`, review `git diff HEAD`, then commit it all.")


def main() -> None:
    operation = sys.argv[1] if sys.argv[1:] else "copy"
    if operation == "merged":
        return merged()
    if operation not in ("copy", "update"):
        sys.exit(f"ERROR: scaffold.py {operation!r}: say copy, update or merged.")
    answers = yaml.safe_load(ANSWERS_FILE.read_text())
    copied(answers) if operation == "copy" else updated(answers)


if __name__ == "__main__":
    main()
