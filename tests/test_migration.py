"""A project baked before the runtime package moves onto it, as MIGRATING.md says.

A bake of the last release with the machinery copied in (626a345, cookiecutter alone: no
answers file), set up, with a day of the team's work (a changed machinery module, a
feature added to the contract, a test of its own) and a trained champion. Then the one
command, migrations/adopt.py, which records the answers and runs `copier update` to this
commit of the template (a clone of it with its releases tagged).
"""

import hashlib
import re
import sys
import tomllib
from pathlib import Path

import pytest

from .conftest import TEMPLATE, run

pytestmark = pytest.mark.slow
PRE_COPIER = "626a345"  # the last release before copier, the machinery copied in
RELEASES = ("0.9.0", "1.0.0")  # tags copier updates between (0.9.0: 626a345, renderable)
PACKAGE = "eta_predictor"
KEPT = f"src/{PACKAGE}/core/modeling.py"
TEAM_METRIC = '''

def worst_error(actual, predicted) -> float:
    """The team's own metric: the largest miss."""
    return float(abs(actual - predicted).max())
'''
TEAM_TEST = f"""from {PACKAGE}.core.contract import Feature
from {PACKAGE}.usecase import CONTRACT


def test_priority_orders_are_a_feature():
    priority = next(f for f in CONTRACT.features if f.name == "priority")
    assert isinstance(priority, Feature)
"""


def template_with_releases(folder: Path) -> Path:
    """A clone of the template's HEAD whose releases are tagged (a fresh clone may lack
    the tags: each release is the commit whose subject starts with its version)."""
    clone = folder / "template"
    run(f"git clone -q {TEMPLATE} {clone}", folder)
    for release in RELEASES:
        if run(f"git rev-parse -q --verify refs/tags/{release}", clone, check=False).returncode:
            found = run(f"git log -1 --format=%H --grep='^{re.escape(release)}: '", clone)
            assert found.stdout.strip(), f"no commit of release {release} in the history"
            run(f"git tag {release} {found.stdout.strip()}", clone)
    return clone


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name} has no {old!r}"
    path.write_text(text.replace(old, new, 1))


def team_work(project: Path) -> None:
    """A feature in the contract (and in the generator), a changed module, a test."""
    source = project / "src" / PACKAGE
    edit(
        source / "usecase.py",
        "    ),\n    target=Feature(",
        '        Feature("priority", "Priority order, 1 or 0", int, 0, 1),\n    ),\n'
        "    target=Feature(",
    )
    edit(source / "usecase.py", '"weather": "rain",', '"weather": "rain",\n        "priority": 1,')
    edit(
        source / "synthetic.py",
        '"weather": weather,',
        '"weather": weather,\n            "priority": rng.integers(0, 2, n_orders),',
    )
    (project / KEPT).write_text((project / KEPT).read_text() + TEAM_METRIC)
    (project / "tests" / "test_priority.py").write_text(TEAM_TEST)
    run("git add -A && git commit -qm 'Priority orders' --no-verify", project)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory):
    """(project, what the migration printed, the champion's digest before it)."""
    folder = tmp_path_factory.mktemp("migration")
    template = template_with_releases(folder)
    run(f"git worktree add -q --detach {folder / 'old-release'} {PRE_COPIER}", template)
    baked = run(
        f"{sys.executable} -m cookiecutter --no-input -o {folder} {folder / 'old-release'}",
        folder,
    )
    project = folder / "eta-predictor"
    assert project.is_dir(), baked.stdout
    run("make setup", project)
    team_work(project)
    run("make repro", project)
    run("git add -A && git commit -qm 'First champion' --no-verify", project)
    champion = digest(project / "models" / "champion" / "model.skops")
    adopted = run(f"python3 {template}/migrations/adopt.py --vcs-ref HEAD", project)
    return project, adopted.stdout + adopted.stderr, champion


def test_untouched_machinery_is_removed_and_the_edited_module_kept_and_named(migrated):
    project, output, _ = migrated
    for gone in ("core/contract.py", "jobs/train.py", "serving/app.py", "monitoring"):
        assert not (project / "src" / PACKAGE / gone).exists(), gone
    for gone in ("scripts/stack.py", "tests/test_api.py", "tests/conftest.py"):
        assert not (project / gone).exists(), gone
    assert (project / "scripts" / "new_env.py").is_file()  # the template still has it
    kept = (project / KEPT).read_text()
    assert "def worst_error" in kept
    assert "from goldenpath.core.contract import Contract" in kept  # its siblings are gone
    named = [line.strip() for line in output.splitlines() if line.strip().startswith("KEPT ")]
    assert len(named) == 1, output  # one line a kept module, and only the changed one
    assert named[0].startswith(f"KEPT {KEPT} (you changed 5 lines): "), named
    assert "goldenpath.core.modeling replaces it" in named[0]


def test_the_teams_code_and_the_pipeline_use_goldenpath(migrated):
    project, output, _ = migrated
    status = run("git status --porcelain", project).stdout
    assert not re.search(r"^(UU|AA|DU|UD) ", status, flags=re.M), status
    usecase = (project / "src" / PACKAGE / "usecase.py").read_text()
    assert "from goldenpath import Contract, Feature, UseCase" in usecase
    assert '"priority": 1' in usecase and 'Feature("priority"' in usecase
    assert "example_data=synthetic.generate_orders" in usecase  # the new release's part
    test = (project / "tests" / "test_priority.py").read_text()
    assert test.startswith("from goldenpath.core.contract import Feature\n")
    assert "tests/test_priority.py" in output
    commands = re.findall(r"^\s*cmd: (.+)$", (project / "dvc.yaml").read_text(), flags=re.M)
    assert commands and all(c.startswith("python -m goldenpath.") for c in commands), commands
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["tool"]["goldenpath"]["layout"] == 1
    assert pyproject["project"]["entry-points"]["goldenpath"]["use_case"] == (
        f"{PACKAGE}.usecase:USE_CASE"
    )


def test_the_champion_serves_without_retraining_and_make_test_passes(migrated):
    project, _, champion = migrated
    run("git add -A && git commit -qm 'goldenpath: the package layout' --no-verify", project)
    run("make setup", project)
    assert digest(project / "models" / "champion" / "model.skops") == champion
    smoke = run("make smoke", project)
    assert '"model_version":"1"' in smoke.stdout, smoke.stdout
    assert '"priority": 1' in smoke.stdout  # the team's feature, asked of the old champion
    tested = run("make test", project)
    assert re.search(r"tests/test_priority\.py \.", tested.stdout), tested.stdout
