"""Bring a project baked before copier (template 0.9.0, by cookiecutter) under copier updates.

    python3 <template>/migrations/adopt.py [--template SRC] [--data KEY=VALUE ...] [--no-update]

Run in the project's root, its work tree clean. It recovers the answers the project was
baked with from the files they were written into (pyproject.toml, the Makefile, the
Dockerfile, usecase.py, ...), writes them to .copier-answers.yml as release 0.9.0's,
commits that file alone, then runs `copier update` to the newest release, whose
migrations move the project onto the goldenpath package. Standard library only: it runs
before the project has anything else.
"""

import argparse
import ast
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the project's own Python is 3.11 or newer
    sys.exit("ERROR: adopt: needs Python 3.11 or newer: run it with `uv run --python 3.11`.")

ANSWERS_FILE = Path(".copier-answers.yml")
RELEASE = "0.9.0"  # the last release with the machinery copied in, rendered by copier
LICENSES = {"MIT": "MIT", "BSD-3-Clause": "BSD-3-Clause", "LicenseRef-Proprietary": "Proprietary"}
COPIER = ["uvx", "--from", "copier==9.19.1", "--with", "copier-template-extensions==0.3.4"]


class AdoptError(Exception):
    """A one-line reason, naming the problem and what to do."""


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise AdoptError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def check_project() -> dict:
    """The project's pyproject.toml, once it is sure this is a clean pre-package project."""
    if not Path(".git").exists():
        raise AdoptError("run this in the project's root (the folder with .git)")
    if ANSWERS_FILE.exists():
        raise AdoptError(f"{ANSWERS_FILE} exists already: update with `make update` instead")
    if git("status", "--porcelain", "--untracked-files=normal").strip():
        raise AdoptError("the work tree has uncommitted changes: commit or stash them first")
    try:
        pyproject = tomllib.loads(Path("pyproject.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise AdoptError(f"pyproject.toml cannot be read ({error}): is this a project?") from None
    if "goldenpath" in pyproject.get("tool", {}):
        raise AdoptError("this project is on the package layout already: use `make update`")
    return pyproject


def first(pattern: str, path: str) -> str | None:
    try:
        found = re.search(pattern, Path(path).read_text(), flags=re.M)
    except OSError:
        return None
    return found[1].strip() if found else None


def model_name(usecase: Path) -> str | None:
    """The `name=` of usecase.py's UseCase(...): the registered model's name."""
    try:
        tree = ast.parse(usecase.read_text())
    except (OSError, SyntaxError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "UseCase":
            for keyword in node.keywords:
                if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                    return keyword.value.value
    return None


def recover(pyproject: dict) -> dict[str, str | None]:
    """Each answer from where release 0.9.0 wrote it (None: not found)."""
    project = pyproject.get("project", {})
    package = pyproject.get("tool", {}).get("uv", {}).get("build-backend", {}).get("module-name")
    authors = (project.get("authors") or [{}])[0]
    python = re.match(r">=(3\.\d+)", project.get("requires-python", ""))
    title = first(r"FastAPI\(title=(\"(?:[^\"\\]|\\.)*\")", f"src/{package}/serving/app.py")
    return {
        "project_name": ast.literal_eval(title) if title else first(r"\A# (.+)$", "README.md"),
        "project_slug": project.get("name"),
        "package_name": package,
        "description": project.get("description"),
        "author_name": authors.get("name"),
        "author_email": authors.get("email"),
        "python_version": python[1] if python else None,
        "license": LICENSES.get(project.get("license", "")),
        "model_name": model_name(Path(f"src/{package}/usecase.py")),
        "github_owner": first(r"^ARG SOURCE_URL=https://github\.com/([^/\s]+)/", "Dockerfile"),
        "image_name": first(r"^IMAGE_NAME \?= (\S+)", "Makefile"),
    }


def answers_yaml(answers: dict[str, str], template: str) -> str:
    """As copier writes the file; JSON strings are YAML's double-quoted scalars."""
    lines = ["# Changes here will be overwritten by Copier; NEVER EDIT MANUALLY"]
    lines += [f"_commit: {RELEASE}", f"_src_path: {json.dumps(template)}"]
    lines += [f"{key}: {json.dumps(value)}" for key, value in sorted(answers.items())]
    return "\n".join(lines) + "\n"


def check_target(template: str, ref: str | None) -> None:
    """The release copier will update to must carry the package-layout migration: without
    it, copier deletes the team's changed copies of the machinery with the rest."""
    if not (Path(template) / ".git").exists():
        return  # a URL: its releases are copier's to read
    if ref is None:  # copier's choice: the newest release
        tags = git("-C", template, "tag", "--list", "[0-9]*", "--sort=-v:refname").split()
        ref = tags[0] if tags else "HEAD"
    found = subprocess.run(
        ["git", "-C", template, "cat-file", "-e", f"{ref}:migrations/package_layout.py"],
        capture_output=True,
    )
    if found.returncode != 0:
        raise AdoptError(
            f"release {ref} of {template} has no package-layout migration: give --vcs-ref a"
            " newer release (or pull the template's tags)"
        )


def copier_command() -> list[str]:
    if "COPIER" in os.environ:
        return shlex.split(os.environ["COPIER"])
    if shutil.which("uvx"):
        return [*COPIER, "copier"]
    if shutil.which("copier"):
        return ["copier"]
    raise AdoptError("neither uv nor copier is on PATH: install uv (docs.astral.sh/uv)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = str(Path(__file__).resolve().parents[1])
    parser.add_argument("--template", default=here, help="the template's git URL or path")
    parser.add_argument("--data", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--vcs-ref", help="the release to update to (default: the newest)")
    parser.add_argument("--no-update", action="store_true", help="only write the answers")
    options = parser.parse_args()
    try:
        answers = recover(check_project())
        for pair in options.data:
            key, sep, value = pair.partition("=")
            if not sep or key not in answers:
                raise AdoptError(f"--data {pair!r}: say KEY=VALUE, KEY one of {', '.join(answers)}")
            answers[key] = value
        if missing := [key for key, value in answers.items() if not value]:
            raise AdoptError(
                f"could not find {', '.join(missing)} in the project: give each as --data KEY=VALUE"
            )
        command = [*copier_command(), "update", "--trust", "--defaults", "--conflict", "inline"]
        if not options.no_update:  # before anything is written
            check_target(options.template, options.vcs_ref)
        ANSWERS_FILE.write_text(answers_yaml(answers, options.template))
        try:
            git("add", "--", str(ANSWERS_FILE))
            git(
                "commit",
                "-q",
                "--no-verify",
                "-m",
                f"goldenpath template {RELEASE}: its answers",
                "--",
                str(ANSWERS_FILE),
            )
        except AdoptError:
            subprocess.run(
                ["git", "rm", "-q", "--cached", "--force", str(ANSWERS_FILE)], capture_output=True
            )
            ANSWERS_FILE.unlink()
            raise
    except AdoptError as problem:
        print(f"ERROR: adopt: {problem}", file=sys.stderr)
        return 1
    print(f"adopt: {ANSWERS_FILE} committed (template {RELEASE}, {options.template})")
    for key, value in sorted(answers.items()):
        print(f"  {key}: {value}")
    if options.vcs_ref:
        command += ["--vcs-ref", options.vcs_ref]
    if options.no_update:
        print(f"next: {shlex.join(command)}")
        return 0
    print(f"adopt: {shlex.join(command)}", flush=True)
    return subprocess.run(command).returncode


if __name__ == "__main__":
    sys.exit(main())
