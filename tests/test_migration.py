"""A project baked before the runtime package moves onto it, as MIGRATING.md says.

A bake of the last release with the machinery copied in (626a345, cookiecutter alone: no
answers file), set up, with a day of the team's work (a changed machinery module, a
feature added to the contract, a test of its own) and a trained champion. Then the one
command, migrations/adopt.py, which records the answers and runs `copier update` to this
commit of the template (a clone of it with its releases tagged).
"""

import hashlib
import importlib.util
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from .conftest import TEMPLATE, clone_with_releases, run

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


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of the template's HEAD whose releases are tagged."""
    clone = clone_with_releases(tmp_path_factory.mktemp("template") / "goldenpath")
    missing = [
        release for release in RELEASES if release not in run("git tag", clone).stdout.split()
    ]
    assert not missing, f"no commit of release {missing} in the history"
    return clone


@pytest.fixture(scope="module")
def old_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template as it was at PRE_COPIER, for cookiecutter."""
    tree = tmp_path_factory.mktemp("old-release")
    run(f"git -C {TEMPLATE} archive {PRE_COPIER} | tar -x -C {tree}", tree)
    return tree


def bake_old(release: Path, output: Path, **answers: str) -> Path:
    """A bake of the old release by cookiecutter, run outside this template (whose hooks
    package would shadow the old release's)."""
    pairs = " ".join(shlex.quote(f"{key}={value}") for key, value in answers.items())
    output.mkdir(exist_ok=True)
    run(f"{sys.executable} -m cookiecutter --no-input -o {output} {release} {pairs}", output)
    (project,) = (path for path in output.iterdir() if (path / ".git").is_dir())
    return project


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
def migrated(template: Path, old_release: Path, tmp_path_factory: pytest.TempPathFactory):
    """(project, what the migration printed, the champion's digest before it)."""
    project = bake_old(old_release, tmp_path_factory.mktemp("migration"))
    run("make setup", project)
    team_work(project)
    run("make repro", project)
    run("git add -A && git commit -qm 'First champion' --no-verify", project)
    champion = digest(project / "models" / "champion" / "model.skops")
    adopted = run(f"python3 {template}/migrations/adopt.py --vcs-ref HEAD", project)
    return project, adopted.stdout + adopted.stderr, champion


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


CUSTOM = {
    "project_name": "Ride Demand",
    "package_name": "ride_demand_model",
    "description": "Forecast rides: per hour.",
    "author_name": "Mobility Team",
    "author_email": "mobility@example.org",
    "python_version": "3.13",
    "license": "Proprietary",
    "model_name": "ride-demand-eu",
    "github_owner": "Acme-Mobility",
    "image_name": "registry.example.org/acme/ride-demand",
}


@pytest.mark.slow
def test_adopt_recovers_the_answers_the_project_was_baked_with(template, old_release, tmp_path):
    """Exactly: release 0.9.0 rendered by copier from them is the bake, file for file."""
    project = bake_old(old_release, tmp_path / "bake", **CUSTOM)
    adopted = run(f"python3 {template}/migrations/adopt.py --no-update", project)
    assert adopted.stdout.splitlines()[-1].startswith("next: uvx --from copier==")
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers == CUSTOM | {
        "project_slug": "ride-demand",
        "_commit": "0.9.0",
        "_src_path": str(template),
    }
    assert run("git status --porcelain", project).stdout == ""  # committed, and only it
    assert run("git show --name-only --format= HEAD", project).stdout.split() == [
        ".copier-answers.yml"
    ]
    data = " ".join(shlex.quote(f"--data={key}={value}") for key, value in CUSTOM.items())
    render = tmp_path / "render"
    run(
        f"{sys.executable} -m copier copy --trust --defaults --quiet --skip-tasks"
        f" --vcs-ref=0.9.0 {data} {template} {render}",
        tmp_path,
    )
    scaffold = run("git rev-list --max-parents=0 HEAD", project).stdout.strip()
    baked = run(f"git ls-tree -r --name-only {scaffold}", project).stdout.split()
    rendered = {p.relative_to(render).as_posix() for p in render.rglob("*") if p.is_file()}
    made_by_the_hook = {".dvc/config"}  # its DVC remote
    assert set(baked) - made_by_the_hook == rendered - made_by_the_hook - {".copier-answers.yml"}
    for name in sorted(set(baked) - made_by_the_hook):
        shown = subprocess.run(
            ["git", "show", f"{scaffold}:{name}"], cwd=project, capture_output=True, check=True
        )
        assert shown.stdout == (render / name).read_bytes(), name


def adopt_in(folder: Path, pyproject: str, *options: str) -> subprocess.CompletedProcess:
    """adopt.py in a repository holding only `pyproject`, committed."""
    folder.mkdir()
    (folder / "pyproject.toml").write_text(pyproject)
    run("git init -q && git add -A && git commit -qm init", folder)
    return run(
        f"python3 {TEMPLATE}/migrations/adopt.py --no-update {' '.join(options)}",
        folder,
        check=False,
    )


@pytest.mark.parametrize(
    ("pyproject", "options", "says"),
    [
        ('[project]\nname = "x"\n', "", "could not find project_name, package_name"),
        ('[project]\nname = "x"\n', "--data colour=red", "--data 'colour=red': say KEY=VALUE"),
        ("[project\n", "", "pyproject.toml cannot be read"),
        ("[tool.goldenpath]\nlayout = 1\n", "", "on the package layout already"),
    ],
)
def test_adopt_refuses_in_one_line_and_writes_nothing(tmp_path, pyproject, options, says):
    refused = adopt_in(tmp_path / "project", pyproject, options)
    assert refused.returncode == 1
    assert refused.stderr.startswith("ERROR: adopt: ") and says in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert not (tmp_path / "project" / ".copier-answers.yml").exists()
    assert run("git status --porcelain", tmp_path / "project").stdout == ""


def test_adopt_refuses_a_work_tree_with_changes(tmp_path):
    project = tmp_path / "project"
    adopt_in(project, '[project]\nname = "x"\n')
    (project / "notes.txt").write_text("not committed\n")
    refused = run(f"python3 {TEMPLATE}/migrations/adopt.py --no-update", project, check=False)
    assert refused.returncode == 1 and "uncommitted changes" in refused.stderr
    assert not (project / ".copier-answers.yml").exists()


def test_adopt_refuses_a_release_without_the_migration(template, old_release, tmp_path):
    """1.0.0 came before the migration: copier would delete the team's changed modules."""
    clone = tmp_path / "template"
    run(f"git clone -q {template} {clone}", tmp_path)
    newer = set(run("git tag --list", clone).stdout.split()) - set(RELEASES)
    if newer:
        run(f"git tag -d {' '.join(sorted(newer))}", clone)
    lacks = run("git cat-file -e 1.0.0:migrations/package_layout.py", clone, check=False)
    assert lacks.returncode != 0  # 1.0.0 is the newest release here, and has no migration
    project = bake_old(old_release, tmp_path / "bake")
    refused = run(f"python3 {clone}/migrations/adopt.py", project, check=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith("ERROR: adopt: release 1.0.0 of ")
    assert "has no package-layout migration: give --vcs-ref" in refused.stderr
    assert not (project / ".copier-answers.yml").exists()


def migration_module(name: str = "package_layout"):
    spec = importlib.util.spec_from_file_location(name, TEMPLATE / "migrations" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_adopt_runs_the_copier_the_template_is_tested_with():
    pinned = migration_module("adopt").COPIER
    dev = tomllib.loads((TEMPLATE / "pyproject.toml").read_text())["dependency-groups"]["dev"]
    assert {pinned[2], pinned[4]} == {name for name in dev if name.startswith("copier")}


def test_references_to_the_copied_machinery_are_rewritten_and_nothing_else():
    migration = migration_module()
    usecase = (
        "from .core.contract import Contract, Feature\n"
        "from . import synthetic\n"
        "from .synthetic import WEEKS\n"
        "import eta_predictor.serving.app as app\n"
        "from eta_predictor.usecase import CONTRACT\n"
        "from not_eta_predictor.core import x\n"
        "    from eta_predictor.summary import main\n"
    )
    assert migration.rewrite_text(usecase, Path("src/eta_predictor/usecase.py"), PACKAGE) == (
        "from goldenpath.core.contract import Contract, Feature\n"
        "from . import synthetic\n"
        "from .synthetic import WEEKS\n"
        "import goldenpath.serving.app as app\n"
        "from eta_predictor.usecase import CONTRACT\n"
        "from not_eta_predictor.core import x\n"
        "    from goldenpath.summary import main\n"
    )
    kept = "from .contract import Contract\nfrom ..io.tables import read\nfrom .. import usecase\n"
    assert migration.rewrite_text(kept, Path(f"src/{PACKAGE}/core/modeling.py"), PACKAGE) == (
        "from goldenpath.core.contract import Contract\n"
        "from goldenpath.io.tables import read\n"
        "from .. import usecase\n"
    )
    conf = "_target_: eta_predictor.core.modeling.build_model\nsource: eta_predictor.csv\n"
    assert migration.rewrite_text(conf, Path("conf/model/mine.yaml"), PACKAGE) == (
        "_target_: goldenpath.core.modeling.build_model\nsource: eta_predictor.csv\n"
    )


def test_an_import_of_a_removed_test_helper_is_found():
    migration = migration_module()
    test = "from .conftest import CONTRACT\nfrom .helpers import x\n"
    removed = {"tests/conftest.py", "src/eta_predictor/core/params.py"}
    found = migration.dangling_imports(Path("tests/test_mine.py"), test, removed)
    assert found == ["tests/conftest.py"]


def test_a_teams_stage_loses_only_the_dependencies_the_update_removed(tmp_path, monkeypatch):
    migration = migration_module()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src" / PACKAGE / "core").mkdir(parents=True)
    (tmp_path / "src" / PACKAGE / "core" / "modeling.py").write_text("")  # kept
    stage = (
        "  score:\n"
        "    cmd: python -m eta_predictor.jobs.evaluate data/x\n"
        "    deps:\n"
        "      - src/eta_predictor/core/params.py\n"
        "      - src/eta_predictor/core/modeling.py\n"
        "      - scripts/stack.py  # the stack\n"
        "      - src/eta_predictor/usecase.py\n"
    )
    rewritten = migration.rewrite_text(stage, Path("dvc.yaml"), PACKAGE)
    assert migration.drop_removed_dependencies(rewritten, PACKAGE) == (
        "  score:\n"
        "    cmd: python -m goldenpath.jobs.evaluate data/x\n"
        "    deps:\n"
        "      - src/eta_predictor/core/modeling.py\n"
        "      - src/eta_predictor/usecase.py\n"
    )
