"""How the runtime finds the project it works for: one entry point, one layout, one line.

Each problem is a Problem whose message is one line naming the fix (a command prints it
as `error: ...` and exits 1, never with a traceback).
"""

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

from goldenpath.core import project
from goldenpath.core.project import ProjectProblem

from .conftest import USE_CASE_NAME, forget_the_use_case
from .usecase import USE_CASE

RUNTIME = Path(__file__).resolve().parents[1]  # where `tests` is a package


def entry_point(value: str, distribution: str | None = None) -> importlib.metadata.EntryPoint:
    point = importlib.metadata.EntryPoint(project.ENTRY_POINT, value, project.ENTRY_POINT_GROUP)
    return point._for(importlib.metadata.distribution(distribution)) if distribution else point


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch):
    """Declares entry points as installed projects would, without GOLDENPATH_USE_CASE."""
    monkeypatch.delenv(project.OVERRIDE)

    def declare(*points: importlib.metadata.EntryPoint) -> None:
        def entry_points(group: str):
            return [point for point in points if point.group == group]

        monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
        forget_the_use_case()

    yield declare
    forget_the_use_case()


def one_line(problem: pytest.ExceptionInfo) -> str:
    message = str(problem.value)
    assert "\n" not in message, message
    return message


def test_the_use_case_is_the_one_entry_point_a_project_declares(installed) -> None:
    installed(entry_point(USE_CASE_NAME, "goldenpath"))
    assert project.use_case() is USE_CASE
    assert project.package() == "tests"  # its types in a model are trusted
    assert project.distribution() == "goldenpath"  # whose dependencies a model needs


def test_the_same_declaration_seen_twice_is_one_project(installed) -> None:
    installed(entry_point(USE_CASE_NAME), entry_point(USE_CASE_NAME))  # e.g. an editable copy
    assert project.use_case() is USE_CASE


def test_without_a_declaration_the_problem_says_what_to_declare(installed) -> None:
    installed(importlib.metadata.EntryPoint("use_case", USE_CASE_NAME, "another_group"))
    with pytest.raises(ProjectProblem) as problem:
        project.use_case()
    message = one_line(problem)
    assert "no project declares a goldenpath use case in this environment" in message
    assert '[project.entry-points.goldenpath] use_case = "<package>.usecase:USE_CASE"' in message
    assert message.endswith("then `uv sync` (make setup)")


def test_two_projects_in_one_environment_are_named_both(installed) -> None:
    installed(entry_point("first.usecase:USE_CASE"), entry_point("second.usecase:USE_CASE"))
    with pytest.raises(ProjectProblem) as problem:
        project.use_case()
    message = one_line(problem)
    assert "(first.usecase:USE_CASE, second.usecase:USE_CASE)" in message
    assert message.endswith("install one project per environment")


def test_goldenpath_use_case_names_another_one_over_the_entry_point(installed, monkeypatch):
    installed(entry_point("first.usecase:USE_CASE"), entry_point("second.usecase:USE_CASE"))
    monkeypatch.setenv(project.OVERRIDE, USE_CASE_NAME)
    assert project.use_case() is USE_CASE
    assert project.distribution() is None  # no distribution installs `tests`


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("tests.no_such_module:USE_CASE", "cannot be loaded: No module named 'tests.no_such_"),
        ("tests.usecase:NO_SUCH_NAME", "cannot be loaded: "),
        ("tests.usecase:CITIES", "tests.usecase:CITIES is a tuple, not a goldenpath UseCase"),
    ],
)
def test_a_use_case_that_does_not_load_is_named(installed, monkeypatch, value, said) -> None:
    installed()
    monkeypatch.setenv(project.OVERRIDE, value)
    with pytest.raises(ProjectProblem) as problem:
        project.use_case()
    assert said in one_line(problem)


def test_the_use_case_is_found_once(installed, monkeypatch) -> None:
    installed(entry_point(USE_CASE_NAME))
    assert project.use_case() is USE_CASE
    installed_later = []  # declarations that change after the first look change nothing
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: installed_later)
    assert project.use_case() is USE_CASE


def pyproject(root: Path, text: str) -> Path:
    (root / "pyproject.toml").write_text(text)
    return root / "pyproject.toml"


def test_a_supported_layout_or_no_pyproject_passes(tmp_path: Path) -> None:
    project.check_layout(tmp_path)  # the serving image runs from a folder without one
    pyproject(tmp_path, "[project]\nname = 'p'\n\n[tool.goldenpath]\nlayout = 1\n")
    project.check_layout(tmp_path)
    assert project.SUPPORTED_LAYOUTS == (1,)


def test_a_project_without_the_goldenpath_table_is_told_to_migrate(tmp_path: Path) -> None:
    path = pyproject(tmp_path, "[project]\nname = 'p'\n")
    with pytest.raises(ProjectProblem) as problem:
        project.check_layout(tmp_path)
    message = one_line(problem)
    assert message.startswith(f"{path} has no [tool.goldenpath] table: this project predates")
    assert message.endswith(f"migrate it, {project.MIGRATION}")


@pytest.mark.parametrize("layout", ["2", "'1'", "0"])
def test_an_unsupported_layout_names_the_supported_one_and_the_ways_out(tmp_path, layout):
    path = pyproject(tmp_path, f"[tool.goldenpath]\nlayout = {layout}\n")
    with pytest.raises(ProjectProblem) as problem:
        project.check_layout(tmp_path)
    message = one_line(problem)
    assert message.startswith(f"{path}: [tool.goldenpath] layout = {layout}, this goldenpath")
    assert "supports layout 1: update the project (copier update)" in message
    assert project.MIGRATION in message and "pin the goldenpath release" in message


def test_a_layout_that_is_not_given_is_unsupported(tmp_path: Path) -> None:
    pyproject(tmp_path, "[tool.goldenpath]\n")
    with pytest.raises(ProjectProblem, match=r"layout = None, .* supports layout 1"):
        project.check_layout(tmp_path)


def test_invalid_toml_is_named_with_where_it_breaks(tmp_path: Path) -> None:
    path = pyproject(tmp_path, "[tool.goldenpath\nlayout = 1\n")
    with pytest.raises(ProjectProblem) as problem:
        project.check_layout(tmp_path)
    assert one_line(problem).startswith(f"{path} is not valid TOML: ")
    assert "line 1" in str(problem.value)


def test_every_command_checks_the_layout_first(tmp_path, monkeypatch) -> None:
    """A stage started in a project of another layout: one line on stderr, exit status 1."""
    pyproject(tmp_path, "[tool.goldenpath]\nlayout = 2\n")
    environment = os.environ | {"PYTHONPATH": str(RUNTIME)}  # `tests`, for GOLDENPATH_USE_CASE
    command = [sys.executable, "-m", "goldenpath.jobs.validate", "raw.parquet", "out.parquet"]
    done = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"error: {tmp_path / 'pyproject.toml'}: [tool.goldenpath] layout = 2, this goldenpath "
        "runtime supports layout 1: update the project (copier update), "
        f"{project.MIGRATION}, or pin the goldenpath release it was made with"
    ]


def test_a_problem_raised_outside_a_commands_main_is_one_line_too() -> None:
    """As importing a use case whose contract contradicts itself raises (core/problems.py)."""
    script = "import goldenpath.core.problems as p; raise p.Problem('the example misses a feature')"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.splitlines() == ["error: the example misses a feature"]
