"""Turn the rendered files into a working repository: for cookiecutter and copier alike.

    python hooks/scaffold.py copy|update      (in the new project's folder)

After a copy: the goldenpath runtime's wheel in wheels/ (unless a package index serves
it), the default DVC remote on a local directory, a `.env` with fresh secrets, and git
with a first commit (DVC experiments need one). After an update: the new release's wheel
and, in a project that is set up, its uv.lock; nothing is committed (the update is
reviewed first) and the DVC remote and `.env` stay as they are.
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
    if Path("uv.lock").is_file():  # set up: the lock follows the new release's pins
        subprocess.run([uv(), "lock", "--quiet"], check=True)


def main() -> None:
    operation = sys.argv[1] if sys.argv[1:] else "copy"
    if operation not in ("copy", "update"):
        sys.exit(f"ERROR: scaffold.py {operation!r}: say copy or update.")
    answers = yaml.safe_load(ANSWERS_FILE.read_text())
    copied(answers) if operation == "copy" else updated(answers)


if __name__ == "__main__":
    main()
