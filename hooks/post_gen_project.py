"""Turn the rendered files into a working repository.

The goldenpath runtime's wheel in wheels/ (unless a package index serves it), the
default DVC remote on a local directory, a `.env` with fresh secrets, and git with a
first commit (DVC experiments need one).
"""

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

ANSWERS = json.loads(r"""{{ cookiecutter | jsonify }}""")
TEMPLATE = Path(r"""{{ template_dir }}""")


def local_dvc_remote(slug: str) -> Path:
    """A directory outside the project, so a fresh clone on this machine can pull.

    Unique to this project (not only its slug): `dvc gc -c` in one project must
    never delete another's data.
    """
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "dvc-remotes" / f"{slug}-{secrets.token_hex(4)}"


def bundle_runtime(template: Path) -> None:
    """The runtime's wheel, built from the template's runtime/, as the project's index."""
    uv = shutil.which("uv")
    if uv is None:
        sys.exit(
            "ERROR: uv is not on PATH: install it (https://docs.astral.sh/uv/), then bake again."
        )
    built = subprocess.run(
        [uv, "build", "--quiet", "--wheel", "--out-dir", "wheels", str(template / "runtime")],
        capture_output=True,
        text=True,
    )
    if built.returncode != 0:
        sys.exit(f"ERROR: building the goldenpath runtime's wheel failed:\n{built.stderr}")
    (Path("wheels") / ".gitignore").unlink(missing_ok=True)  # uv's: the wheel is committed


def git(*args: str) -> None:
    subprocess.run(["git", *args], check=True, stdout=subprocess.DEVNULL)


def commit_scaffold() -> None:
    git("init", "-q", "-b", "main")
    configured = subprocess.run(["git", "config", "user.email"], capture_output=True)
    if configured.returncode != 0:  # no identity yet: this repository uses the answers
        git("config", "user.name", ANSWERS["author_name"])
        git("config", "user.email", ANSWERS["author_email"])
    git("add", "-A")
    git("commit", "-q", "-m", "Scaffold from the goldenpath template")


def main() -> None:
    if not ANSWERS["package_index"]:
        bundle_runtime(TEMPLATE)
    remote = local_dvc_remote(ANSWERS["project_slug"])
    with Path(".dvc/config").open("a") as config:
        config.write(f"['remote \"local\"']\n    url = {remote}\n")
    subprocess.run([sys.executable, "scripts/new_env.py"], check=True)
    commit_scaffold()
    print(
        f"\nCreated {Path.cwd()}\n"
        f"DVC remote: {remote} (see README to switch to S3, GCS or Azure)\n\n"
        "Next:\n"
        f"  cd {ANSWERS['project_slug']}\n"
        "  make quickstart   # setup, train and register a champion, ask it for a prediction\n"
        "  make stack        # or all of it on the local stack (Docker), which prints its URLs;\n"
        "                    # MLflow login: MLFLOW_TRACKING_USERNAME and _PASSWORD in .env\n"
        "  make help         # every other target\n"
    )


if __name__ == "__main__":
    main()
