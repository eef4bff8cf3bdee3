"""Every option value bakes into a clean, committed, lint-free project (no setup needed)."""

import json
import re
import subprocess
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

from .conftest import DEFAULT_SLUG, RELEASE, bake

VARIANTS = {
    "defaults": {},
    "python-3.12": {"python_version": "3.12"},
    "python-3.13": {"python_version": "3.13"},
    "license-bsd": {"license": "BSD-3-Clause"},
    "license-proprietary": {"license": "Proprietary"},
    "custom-names": {
        "project_name": "Ride Demand",
        "package_name": "ride_demand_model",
        "model_name": "ride.demand_v2",
        "github_owner": "Acme-Mobility",
    },
    "package-index": {"package_index": "https://packages.example.com/simple"},
}
# Jinja left in a file: `{{`, `{%` or `{#`. GitHub's `${{ }}` expressions are not Jinja, nor
# are Prometheus's alert templates, whose `{{ $value }}` and `{{ $labels.x }}` start with `$`.
UNRENDERED = re.compile(r"(?<!\$)\{\{(?!\s*\$)|\{%|\{#")


def project_files(project: Path) -> list[Path]:
    return [p for p in project.rglob("*") if p.is_file() and ".git" not in p.parts]


@pytest.fixture(scope="module", params=list(VARIANTS))
def baked(request, tmp_path_factory) -> tuple[dict, Path]:
    answers = VARIANTS[request.param]
    return answers, bake(tmp_path_factory.mktemp(request.param), **answers)


def test_nothing_is_left_unrendered(baked) -> None:
    _, project = baked
    for path in project_files(project):
        assert not UNRENDERED.search(str(path.relative_to(project))), path
        if path.parent == project / "wheels":  # built by the hook from runtime/, not rendered
            assert zipfile.is_zipfile(path), path
            continue
        assert not UNRENDERED.search(path.read_text()), f"unrendered Jinja in {path}"


def test_data_files_parse(baked) -> None:
    _, project = baked
    for path in project_files(project):
        if path.suffix in (".yaml", ".yml"):
            yaml.safe_load(path.read_text())
        elif path.suffix == ".toml":
            tomllib.loads(path.read_text())
        elif path.suffix == ".json":
            json.loads(path.read_text())


def test_python_is_lint_clean_and_formatted(baked) -> None:
    _, project = baked
    for command in (["ruff", "check", "."], ["ruff", "format", "--check", "."]):
        result = subprocess.run(command, cwd=project, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_answers_reach_the_files(baked) -> None:
    answers, project = baked
    python = answers.get("python_version", "3.11")
    package = answers.get("package_name", "eta_predictor")
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    minor = int(python.split(".")[1])
    assert pyproject["project"]["requires-python"] == f">={python},<3.{minor + 1}"
    assert pyproject["tool"]["uv"]["build-backend"]["module-name"] == package
    assert not (project / ".python-version").exists()  # it would hide a pyenv-installed uv
    # The project's own code is its use case and its feature code; the machinery is the
    # goldenpath runtime's.
    own = {path.name for path in (project / "src" / package).iterdir()}
    assert own == {"__init__.py", "usecase.py", "features.py", "synthetic.py"}, own
    entry_point = pyproject["project"]["entry-points"]["goldenpath"]["use_case"]
    assert entry_point == f"{package}.usecase:USE_CASE"
    # The runtime comes from the index answered, or else from the wheel bundled in wheels/.
    source = pyproject["tool"]["uv"]["sources"]["goldenpath"]
    indexes = {index["name"]: index for index in pyproject["tool"]["uv"].get("index", [])}
    where = source["path"] if "path" in source else indexes[source["index"]]["url"]
    if "package_index" in answers:
        assert where == answers["package_index"] and not (project / "wheels").exists()
    else:
        assert where.startswith("wheels"), where
        wheels = [path.name for path in (project / "wheels").iterdir()]
        assert wheels == [f"goldenpath-{RELEASE}-py3-none-any.whl"]
    usecase = (project / "src" / package / "usecase.py").read_text()
    assert f'name="{answers.get("model_name", DEFAULT_SLUG)}"' in usecase
    first_line = (project / "LICENSE").read_text().splitlines()[0]
    expected = {"MIT": "MIT License", "BSD-3-Clause": "BSD 3-Clause License"}
    license_name = answers.get("license", "MIT")
    assert first_line == expected.get(license_name, first_line)
    if license_name == "Proprietary":
        assert "All rights reserved" in first_line
        assert pyproject["project"]["license"] == "LicenseRef-Proprietary"


def test_repository_is_committed_clean_without_secrets(baked) -> None:
    _, project = baked

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=project, capture_output=True, text=True).stdout

    assert git("log", "--oneline").count("\n") == 1
    assert git("status", "--porcelain") == ""
    tracked = git("ls-files").split()
    assert ".env.example" in tracked and ".env" not in tracked
    env = dict(
        line.split("=", 1)
        for line in (project / ".env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    secrets = {k: v for k, v in env.items() if k.endswith(("_PASSWORD", "_SECRET_KEY"))}
    assert secrets and all(len(value) >= 32 for value in secrets.values())
    assert (project / ".env").stat().st_mode & 0o077 == 0


def test_dvc_remote_is_a_local_directory_outside_the_project(baked, isolated_environment) -> None:
    _, project = baked
    config = (project / ".dvc" / "config").read_text()
    remotes = re.escape(str(isolated_environment / "dvc-remotes" / project.name))
    assert re.search(rf"url = {remotes}-[0-9a-f]{{8}}\n", config), config
    assert "remote = local" in config and "enabled = true" in config


def test_two_projects_with_one_slug_get_their_own_dvc_remote(tmp_path) -> None:
    first, second = bake(tmp_path / "a"), bake(tmp_path / "b")
    remote = re.compile(r"url = (.+)")
    urls = [remote.search((p / ".dvc" / "config").read_text()).group(1) for p in (first, second)]
    assert urls[0] != urls[1]


def test_make_env_never_overwrites_secrets(tmp_path) -> None:
    project = bake(tmp_path)
    before = (project / ".env").read_text()
    result = subprocess.run(["make", "env"], cwd=project, capture_output=True, text=True)
    assert result.returncode != 0 and ".env exists already" in result.stderr
    assert (project / ".env").read_text() == before
    (project / ".env").unlink()
    subprocess.run(["make", "env"], cwd=project, check=True, capture_output=True)
    assert (project / ".env").read_text() != before


def test_each_bake_gets_its_own_secrets(tmp_path) -> None:
    first = (bake(tmp_path / "a") / ".env").read_text()
    second = (bake(tmp_path / "b") / ".env").read_text()
    assert first != second
