"""A project upgrades its runtime: stage dependencies, the version contract, the report.

One bake, trained once, then changed as the seasons of a project change it: a runtime
patch that only fixes a comment, a linter bump, a new scikit-learn, and a runtime
release whose train stage computes something else. Each time `make repro` must re-run
exactly the stages that the change affects (runtime.yaml, read by dvc.yaml), and the
pull request's metrics report must show what the upgrade changed.
"""

import json
import re
import shutil
import tomllib
from pathlib import Path

import pytest

from .conftest import RELEASE, TEMPLATE, bake, run

pytestmark = pytest.mark.slow
STAGES = ("compose", "ingest", "validate", "split", "train", "evaluate", "register")
MODEL_STAGES = {"compose", "train", "evaluate", "register"}
STAGE_REVISIONS = TEMPLATE / "runtime" / "src" / "goldenpath" / "core" / "stages.py"
RUNTIME = RELEASE
MAJOR, MINOR, PATCH = map(int, RUNTIME.split("."))
NEXT_PATCH = f"{MAJOR}.{MINOR}.{PATCH + 1}"  # the releases this test makes of the runtime
NEXT_MINOR = f"{MAJOR}.{MINOR + 1}.0"


def ran(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([a-z_]+)'", output))


def locked_version(project: Path, name: str) -> str:
    lock = tomllib.loads((project / "uv.lock").read_text())
    return next(p["version"] for p in lock["package"] if p["name"] == name)


def build_runtime(tmp: Path, version: str, edits: dict[str, tuple[str, str]]) -> Path:
    """The template's runtime as release `version`, with `edits` (file: (old, new))."""
    source = tmp / f"runtime-{version}"
    shutil.copytree(
        TEMPLATE / "runtime", source, ignore=shutil.ignore_patterns(".venv", "tests", "*.pyc")
    )
    edits = {"pyproject.toml": (f'version = "{RUNTIME}"', f'version = "{version}"')} | edits
    for name, (old, new) in edits.items():
        path = source / name
        assert old in path.read_text(), f"{name} no longer holds {old!r}: update this test"
        path.write_text(path.read_text().replace(old, new, 1))
    run(f"uv build --quiet --wheel --out-dir {tmp / 'wheels'} {source}", tmp)
    return tmp / "wheels" / f"goldenpath-{version}-py3-none-any.whl"


def upgrade(project: Path, wheel: Path) -> None:
    """The one-line change of a bundled runtime: the new wheel, the source's path."""
    for old in (project / "wheels").glob("goldenpath-*.whl"):
        old.unlink()
    shutil.copy(wheel, project / "wheels")
    pyproject = project / "pyproject.toml"
    text = re.sub(r"wheels/goldenpath-[^\"]+\.whl", f"wheels/{wheel.name}", pyproject.read_text())
    pyproject.write_text(text)
    run("uv lock --quiet && uv sync --quiet", project)


def table(report: str, heading: str) -> dict[str, list[str]]:
    """The markdown table under `heading`: row name -> its cells."""
    section = report.split(heading, 1)[1].split("\n### ", 1)[0]
    cells = [line.strip("|").split(" | ") for line in section.splitlines() if line.startswith("| ")]
    return {name.strip(): [cell.strip() for cell in rest] for name, *rest in cells[2:]}


def commit(project: Path, message: str) -> str:
    run(f"git add -A && git commit -qm '{message}' --no-verify", project)
    return run("git rev-parse HEAD", project).stdout.strip()


# The newest scikit-learn and ruff, which the tests below upgrade to, as Dependabot would.
LATEST: dict[str, str] = {}


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trained project whose scikit-learn and ruff are each one release behind."""
    project = bake(tmp_path_factory.mktemp("upgrade"))
    run("make setup", project)
    for name in ("scikit-learn", "ruff"):
        LATEST[name] = locked_version(project, name)
        run(f"uv lock --quiet --upgrade-package '{name}<{LATEST[name]}'", project)
        assert locked_version(project, name) != LATEST[name]
    run("uv sync --quiet", project)
    assert ran(run("make repro", project).stdout) == set(STAGES)
    commit(project, "First pipeline run")
    return project


def test_a_comment_fix_in_the_runtime_re_runs_nothing(upgraded: Path, tmp_path: Path) -> None:
    comment = ("def main() -> None:", "def main() -> None:  # a comment, nothing else")
    patched = build_runtime(tmp_path, NEXT_PATCH, {"src/goldenpath/jobs/train.py": comment})
    upgrade(upgraded, patched)
    assert locked_version(upgraded, "goldenpath") == NEXT_PATCH
    assert ran(run("make repro", upgraded).stdout) == {"compose"}  # it reads uv.lock
    commit(upgraded, f"goldenpath {NEXT_PATCH}")


def bump(project: Path, name: str) -> str:
    """`name` upgraded to its newest release in uv.lock, as a Dependabot pull request does."""
    run(f"uv lock --quiet --upgrade-package {name}=={LATEST[name]} && uv sync --quiet", project)
    assert locked_version(project, name) == LATEST[name]
    return LATEST[name]


def test_a_linter_bump_re_runs_nothing(upgraded: Path) -> None:
    version = bump(upgraded, "ruff")
    assert ran(run("make repro", upgraded).stdout) == {"compose"}
    commit(upgraded, f"ruff {version}")


def test_a_new_scikit_learn_re_runs_the_model_stages(upgraded: Path) -> None:
    version = bump(upgraded, "scikit-learn")
    assert ran(run("make repro", upgraded).stdout) == MODEL_STAGES
    assert f"scikit-learn {version}" in (upgraded / "runtime.yaml").read_text()
    commit(upgraded, f"scikit-learn {version}")


def test_a_release_that_changes_training_re_runs_it_and_the_report_shows_it(
    upgraded: Path, tmp_path: Path
) -> None:
    run("make repro-ci", upgraded)
    base = commit(upgraded, "Before the runtime upgrade")
    # The next minor release trains on half the rows, and says so: the train stage's next revision.
    revision = int(re.search(r'"train": (\d+),', STAGE_REVISIONS.read_text())[1])
    edits = {
        "src/goldenpath/core/stages.py": (f'"train": {revision},', f'"train": {revision + 1},'),
        "src/goldenpath/jobs/train.py": (
            "    table = read_table(paths.train)\n",
            "    table = read_table(paths.train).sample(frac=0.5, random_state=0)\n",
        ),
    }
    upgrade(upgraded, build_runtime(tmp_path, NEXT_MINOR, edits))
    assert ran(run("make repro", upgraded).stdout) == MODEL_STAGES
    commit(upgraded, f"goldenpath {NEXT_MINOR}")

    # The pull request's CI, in a fresh checkout as CI's is: its champion is what repro-ci
    # trains with that release, as the base's is its runtime's (the workspace keeps the champion of
    # the first run, which another scikit-learn saved).
    checkout = tmp_path / "pull-request"
    run(f"git clone --quiet {upgraded} {checkout}", tmp_path)
    run("make ci-setup repro-ci", checkout)
    checked = run("make service-check", checkout)  # its own CI step: the report reuses it
    result = json.loads((checkout / "build" / "service-check.json").read_text())
    assert result["answered"] and result["runtime"] == NEXT_MINOR, checked.stdout
    made = run(f"make metrics-report BASE={base}", checkout)
    assert "service check: on the base commit" in made.stderr
    assert "service check: on this checkout" not in made.stderr  # one service start per side
    report = (checkout / "build" / "metrics-report.md").read_text()
    assert f"goldenpath {NEXT_PATCH} → {NEXT_MINOR}" in report
    train = next(line for line in report.splitlines() if line.startswith("| train |"))
    assert f"goldenpath train/{revision}" in train and f"goldenpath train/{revision + 1}" in train
    assert not any(line.startswith("| ingest |") for line in report.splitlines())
    mae = next(line for line in report.splitlines() if line.startswith("| holdout.mae |"))
    assert "no change" not in mae, report

    # The service and the monitor on each side's champion: the upgrade changed the answer.
    service = table(report, "### Service and monitoring")
    assert all(cell.startswith("✅ eta-predictor ") for cell in service["Service"]), report
    before, after = service["Example's delivery_minutes"]
    assert float(before) != float(after.split()[0]) and "(same)" not in after, report
    assert service["Samples answered"] == ["5 of 5", "5 of 5"], report
    assert service["Models that answered"] == ["eta-predictor/1"] * 2, report  # fresh registries
    # The simulated weeks, the same orders on both sides, each judged by the monitor. A
    # normal week's verdict rests on the sample's small per-city holdouts (60 to 95 rows:
    # a city's live error may cross its bound); the changed one (Porto: storms, fewer
    # couriers) always names what moved.
    for cell in service["Week `normal`"]:
        assert cell.startswith(("✅ passed: ", "❌ failed ")), report
        assert "drift" not in cell and "(1500 of 1500 orders)" in cell, report
    for cell in service["Week `changed`"]:
        assert cell.startswith("❌ failed ") and "drift of courier_load, weather" in cell, report
        assert "live error above holdout in overall" in cell and "(1500 of 1500 orders)" in cell


def test_an_unsupported_layout_stops_the_first_command_in_one_line(upgraded: Path) -> None:
    pyproject = upgraded / "pyproject.toml"
    original = pyproject.read_text()
    try:
        pyproject.write_text(original.replace("layout = 1", "layout = 2"))
        result = run("make repro", upgraded, check=False)
        assert result.returncode != 0
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "layout = 2" in errors[0] and "MIGRATING.md" in errors[0]
        assert "Traceback" not in result.stderr
    finally:
        pyproject.write_text(original)
