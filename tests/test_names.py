"""Every naming variant the prompts accept is set up, tested and trained for real.

The default names go through test_project.py. Here: a package name unrelated to a
slug with digits, on the other offered Python, set up the way a pyenv user runs it.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import TEMPLATE, bake, require_python, run
from .dependency_imports import import_names

pytestmark = pytest.mark.slow
LISTED = set((TEMPLATE / "hooks" / "dependency_imports.txt").read_text().split())


def test_the_refused_names_cover_every_import_of_a_set_up_project(project: Path) -> None:
    missing = sorted(import_names(project) - LISTED)
    refresh = "uv run python tests/dependency_imports.py PROJECT > hooks/dependency_imports.txt"
    assert not missing, f"hooks/dependency_imports.txt lacks {missing}: refresh it ({refresh})"


def pyenv_user_environment() -> dict[str, str]:
    """No PYENV_VERSION: pyenv picks versions from files, as in a user's shell.

    uv is found through pyenv's shims, installed in the global Python; the
    project's Python (3.13) is handed to uv, as a user with it on PATH would.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYENV_VERSION"}
    python = subprocess.run(["uv", "python", "find", "3.13"], capture_output=True, text=True)
    return env | {"UV_PYTHON": python.stdout.strip()}


def test_a_package_unrelated_to_a_slug_with_digits_goes_the_whole_way(trained, tmp_path) -> None:
    """Route 66 ETA / courier_eta on Python 3.13: setup, tests, pipeline, a prediction."""
    require_python("3.13")
    other = bake(
        tmp_path, project_name="Route 66 ETA", package_name="courier_eta", python_version="3.13"
    )
    assert other.name == "route-66-eta"
    env = pyenv_user_environment()
    setup = subprocess.run(["make", "setup"], cwd=other, env=env, capture_output=True, text=True)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    run("make test repro smoke", other)
    assert json.loads((other / "reports" / "registration.json").read_text())["promoted"]
    # Same data and model as the default bake on 3.11: the same numbers.
    for path in ("metrics.json", "reports/plots/mae_by_segment.csv"):
        assert (other / path).read_text() == (trained / path).read_text(), path
    if shutil.which("pyenv"):
        assert "pyenv" in (shutil.which("uv") or ""), "uv is expected behind pyenv's shims here"
