"""Baking helpers shared by the template's tests."""

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
DEFAULT_SLUG = "eta-predictor"


@pytest.fixture(scope="session", autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory):
    """DVC remotes and git identity inside the test's own folders, never the user's."""
    data_home = tmp_path_factory.mktemp("xdg-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(data_home))
        for role in ("AUTHOR", "COMMITTER"):
            patch.setenv(f"GIT_{role}_NAME", "Template Tests")
            patch.setenv(f"GIT_{role}_EMAIL", "tests@example.com")
        for variable in ("MLFLOW_TRACKING_URI", "VIRTUAL_ENV", "DVC_ROOT", "DVC_EXP_NAME"):
            patch.delenv(variable, raising=False)
        patch.setenv("UV_PYTHON_DOWNLOADS", "never")
        yield data_home


def bake(output_dir: Path, **answers: str) -> Path:
    """Generate a project with the default answers overridden by `answers`."""
    return Path(
        cookiecutter(
            str(TEMPLATE), no_input=True, extra_context=answers, output_dir=str(output_dir)
        )
    )


def bake_cli(output_dir: Path, **answers: str) -> subprocess.CompletedProcess:
    """Run the cookiecutter command line, as a user would."""
    pairs = [f"{key}={value}" for key, value in answers.items()]
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(output_dir)]
    return subprocess.run([*command, str(TEMPLATE), *pairs], capture_output=True, text=True)


def run(command: str, cwd: Path, check: bool = True, **env: str) -> subprocess.CompletedProcess:
    """Run a shell command in a baked project; on failure, show everything it printed."""
    result = subprocess.run(
        command, shell=True, cwd=cwd, capture_output=True, text=True, env=os.environ | env
    )
    if check and result.returncode != 0:
        pytest.fail(f"`{command}` exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


DVC = "uv run --frozen dvc"


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default bake after `make setup`: shared by every module that needs one."""
    project = bake(tmp_path_factory.mktemp("project"))
    run("make setup", project)
    return project


@pytest.fixture(scope="session")
def trained(project: Path) -> Path:
    """The project after its first `make repro`, committed as a user would.

    Tests that change it put it back (`restore`), so they can share it.
    """
    run("make repro", project)
    run("git add -A && git commit -qm 'First pipeline run' --no-verify", project)
    return project


def restore(project: Path, revision: str = "HEAD") -> None:
    """The committed state: files, index (DVC stages what it changes) and DVC outputs."""
    run(f"git reset -q --hard {revision} && git clean -qfd && {DVC} checkout -q --force", project)


def ask_registry(project: Path, expression: str, **env: str):
    """`expression` (JSON-able; `client` is an MlflowClient) in the project's environment."""
    package = next((project / "src").iterdir()).name
    script = (
        "import json, mlflow\n"
        f"from {package}.core.tracking import embedded_store\n"
        "embedded_store()\n"
        "client = mlflow.MlflowClient()\n"
        f"print(json.dumps({expression}))\n"
    )
    result = run(f"uv run --frozen python -c {shlex.quote(script)}", project, **env)
    return json.loads(result.stdout.splitlines()[-1])


def require_python(version: str) -> None:
    """Skip (or, in CI, fail) when uv cannot find this Python on the machine."""
    found = (
        shutil.which("uv")
        and subprocess.run(["uv", "python", "find", version], capture_output=True).returncode == 0
    )
    if not found:
        message = f"Python {version} not found by uv (put python{version} on PATH)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
