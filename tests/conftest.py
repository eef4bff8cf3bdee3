"""Baking helpers shared by the template's tests."""

import functools
import http.server
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter
from xdist.scheduler import LoadScopeScheduling

TEMPLATE = Path(__file__).resolve().parents[1]
# The one version of the template and its runtime (tools/release.py holds them equal).
RELEASE = tomllib.loads((TEMPLATE / "runtime" / "pyproject.toml").read_text())["project"]["version"]
DEFAULT_SLUG = "eta-predictor"

# Two workers (pytest-xdist): the modules that share a session fixture form one group, run
# on one worker in file order, so each shared bake or stack is made once. The longest
# groups start first; the other modules fill in behind them.
SHARED_BY = {
    "set_up": (
        *("test_monitoring", "test_names", "test_package_index", "test_project"),
        *("test_second_day", "test_segments", "test_service", "test_workflows"),
    ),
    "stack": ("test_stack", "test_stack_monitoring", "test_stack_release"),  # release ends it
}
LONGEST_FIRST = (
    *("set_up", "stack", "test_classifier", "test_runtime_upgrade", "test_update"),
    "test_migration",
)
_GROUP = {module: fixture for fixture, modules in SHARED_BY.items() for module in modules}


def _group(nodeid: str) -> str:
    module = Path(nodeid.split("::")[0]).stem
    return _GROUP.get(module, module)


class _SharedFixtureScheduling(LoadScopeScheduling):
    def _split_scope(self, nodeid: str) -> str:
        return _group(nodeid)


def pytest_xdist_make_scheduler(config: pytest.Config, log) -> LoadScopeScheduling:
    return _SharedFixtureScheduling(config, log)


_MISPLACED = pytest.StashKey[str]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]
        for fixture, modules in SHARED_BY.items():
            if fixture in item.fixturenames and module not in modules:
                item.stash[_MISPLACED] = (
                    f"{item.nodeid} uses the shared fixture `{fixture}`: add {module!r} to"
                    f" SHARED_BY[{fixture!r}] in tests/conftest.py (one worker makes it)"
                )
    rank = {name: position for position, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(_group(item.nodeid), len(rank)))  # stable: file order


@pytest.hookimpl(tryfirst=True)  # before its fixtures are made
def pytest_runtest_setup(item: pytest.Item) -> None:
    if message := item.stash.get(_MISPLACED, ""):
        pytest.fail(message, pytrace=False)  # a worker cannot stop collection visibly


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


def copier_cli(destination: Path, *options: str, **answers: str) -> subprocess.CompletedProcess:
    """`copier copy` of the template's working tree (HEAD and its changes), as a user would."""
    data = [f"--data={key}={value}" for key, value in answers.items()]
    command = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--quiet"]
    return subprocess.run(
        [*command, "--vcs-ref=HEAD", *options, *data, str(TEMPLATE), str(destination)],
        capture_output=True,
        text=True,
    )


def clone_with_releases(destination: Path) -> Path:
    """A clone of the template with a tag for every release: a fresh clone (CI's) may have
    none, and copier finds a release by its tag only."""
    run(f"git clone -q {TEMPLATE} {destination}", destination.parent)
    tool = destination / "tools" / "release.py"
    shutil.copy(TEMPLATE / "tools" / "release.py", tool)  # this working tree's
    run(f"{sys.executable} {tool} tags && git checkout -q -- {tool}", destination)
    return destination


DVC = "uv run --frozen dvc"


@pytest.fixture(scope="session")
def set_up(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default bake after `make setup`: shared by every module that needs one."""
    project = bake(tmp_path_factory.mktemp("project"))
    run("make setup", project)
    return project


@pytest.fixture(scope="session")
def project(set_up: Path) -> Path:
    """`set_up`, by the name most modules give it (test_workflows.py's is a bake only)."""
    return set_up


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
    script = (
        "import json, mlflow\n"
        "from goldenpath.core.tracking import embedded_store\n"
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


def docker_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True).returncode == 0
    except FileNotFoundError:
        return False


@pytest.fixture(scope="session")
def engine() -> None:
    if not docker_answers():
        message = "no Docker engine answers (run ../shared/docker/standin-images.sh)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_env(project: Path) -> dict[str, str]:
    lines = (project / ".env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def set_env(project: Path, **settings: str) -> None:
    """Change settings in the project's .env."""
    env = (project / ".env").read_text()
    for key, value in settings.items():
        env = re.sub(rf"^{key}=.*$", f"{key}={value}", env, flags=re.M)
    (project / ".env").write_text(env)


def bake_for_the_stack(output_dir: Path) -> Path:
    """A project named like every other here, with its stack on ports free now."""
    project = bake(output_dir, project_name="Stack Check")
    ports = ("MLFLOW_PORT", "SERVE_PORT", "POSTGRES_PORT", "PROMETHEUS_PORT", "EVIDENTLY_PORT")
    set_env(project, **{name: str(free_port()) for name in ports})
    return project


@pytest.fixture(scope="session")
def stack(engine, tmp_path_factory) -> Path:
    """A baked project whose stack is up, trained against and serving its champion.

    Shared by test_stack.py and test_stack_release.py, which runs after it and ends it.
    """
    project = bake_for_the_stack(tmp_path_factory.mktemp("stack"))
    run("make setup", project)
    try:
        run("make stack", project)
        yield project
    finally:
        run("make stack-destroy", project, check=False)


def on_stack(project: Path) -> dict[str, str]:
    """The environment that points MLflow at the stack's server, with the .env credentials."""
    env = read_env(project)
    return {
        "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{env['MLFLOW_PORT']}",
        "MLFLOW_TRACKING_USERNAME": env["MLFLOW_TRACKING_USERNAME"],
        "MLFLOW_TRACKING_PASSWORD": env["MLFLOW_TRACKING_PASSWORD"],
    }


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def web_folder(tmp_path: Path):
    """(folder, URL): a folder served over HTTP on loopback, a table behind a URL."""
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
