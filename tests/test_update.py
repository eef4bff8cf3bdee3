"""`copier update` from an older release under a day of a team's work; then `make update`.

The releases come from a temporary clone of the template with its tags, in which the
working tree is committed and tagged as the new release: what is tested is the current
code, committed or not. The project is baked from 1.0.0 and the team's work committed on
it (a feature in the contract, a conf/ value, a model config, a README paragraph, a
Makefile target, a champion from `make setup repro`), with one README line that the new
release changes too rewritten: a conflict. copier updates it as a team on 1.0.0 (which
has no `make update` yet) would; then `make update` takes two releases after that, each
proposed by `make update-pr` (against a fake gh) as the one pull request.
"""

import json
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from .conftest import TEMPLATE, clone_with_releases, read_env, run
from .test_second_day import NEW_FEATURE, smoke
from .test_workflows import github_fake

pytestmark = pytest.mark.slow
OLD = "1.0.0"
NEW = tomllib.loads((TEMPLATE / "pyproject.toml").read_text())["project"]["version"]
MAJOR, MINOR, PATCH = map(int, NEW.split("."))
LATER = [f"{MAJOR}.{MINOR}.{PATCH + n}" for n in (1, 2)]  # the releases make update takes
SLUG = "{{cookiecutter.project_slug}}"
# What differs between two bakes of one release by design: secrets, the DVC remote's
# random suffix, the wheel (built again), the answers' release.
PER_BAKE = {".env", ".dvc/config", ".copier-answers.yml"}
TEAM_TARGET = """
features:  ## The contract's features, one line
\t@$(RUN) python -c 'from eta_predictor.usecase import CONTRACT; print(*CONTRACT.feature_names)'
"""
TEAM_README = "\n## Our data\n\nOrders come from the delivery platform's export, weekly.\n"
MODEL = """\
# Extremely randomised trees: our candidate.
_target_: sklearn.ensemble.ExtraTreesRegressor
n_estimators: 50
random_state: 0
"""


def release(clone: Path, version: str) -> None:
    run(f"git add -A && git commit -qm 'Release {version}' && git tag -f {version}", clone)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name} no longer holds {old!r}: update this test"
    path.write_text(text.replace(old, new, 1))


def copier(operation: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The template's own copier (the version the project pins), as a user runs it."""
    command = [sys.executable, "-m", "copier", operation, "--trust", "--defaults", *args]
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(
            f"copier {operation} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The template's clone: its tags, and the working tree as release NEW."""
    clone = clone_with_releases(tmp_path_factory.mktemp("template") / "goldenpath")
    run("git rm -rqf .", clone)
    listed = run("git ls-files -z -co --exclude-standard", TEMPLATE).stdout.split("\0")
    for name in filter(None, listed):
        if (TEMPLATE / name).is_file():  # not deleted in the working tree
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(TEMPLATE / name, clone / name, follow_symlinks=False)
    release(clone, NEW)
    return clone


def team_work(project: Path, conflicting: str) -> None:
    package = project / "src" / "eta_predictor"
    anchor = '        Feature(\n            "city",'
    edit(package / "usecase.py", anchor, NEW_FEATURE + anchor)
    edit(package / "usecase.py", '"city": "lisbon",', '"basket_value": 24.5, "city": "lisbon",')
    edit(
        package / "synthetic.py", '"items": items,', '"items": items, "basket_value": 8.0 * items,'
    )
    edit(project / "conf" / "data" / "default.yaml", "rows: 20000", "rows: 6000")
    (project / "conf" / "model" / "extra_trees.yaml").write_text(MODEL)
    readme = project / "README.md"
    edit(readme, conflicting, "The runtime arrives with the template; we pin it in uv.lock.")
    readme.write_text(readme.read_text() + TEAM_README)
    (project / "Makefile").write_text((project / "Makefile").read_text() + TEAM_TARGET)


def files(folder: Path, revision: str | None = None) -> dict[str, bytes]:
    """What git tracks in `folder`: in the work tree, or at `revision`."""
    if revision is None:
        names = run("git ls-files -z", folder).stdout.split("\0")
        return {name: (folder / name).read_bytes() for name in names if (folder / name).is_file()}
    names = run(f"git ls-tree -r -z --name-only {revision}", folder).stdout.split("\0")
    show = ["git", "show"]
    return {
        name: subprocess.run([*show, f"{revision}:{name}"], cwd=folder, capture_output=True).stdout
        for name in filter(None, names)
    }


@pytest.fixture(scope="module")
def updated(template: Path, tmp_path_factory) -> SimpleNamespace:
    """The team's project on OLD, its work committed, updated to NEW by copier."""
    root = tmp_path_factory.mktemp("update")
    project, fresh = root / "eta-predictor", root / "fresh"
    copier("copy", "--quiet", f"--vcs-ref={OLD}", str(template), str(project), cwd=root)
    copier("copy", "--quiet", f"--vcs-ref={NEW}", str(template), str(fresh), cwd=root)
    old_readme = (project / "README.md").read_text().splitlines()
    release_lines = set((fresh / "README.md").read_text().splitlines())
    changed = [line for line in old_readme if line.strip() and line not in release_lines]
    assert changed, f"release {NEW} changes no line of README.md: make the conflict elsewhere"
    team_work(project, changed[0])
    run("make setup repro && git add -A && git commit -qm 'A day of our work'", project)
    kept = (".env", ".dvc/config", "models/champion/champion.json")
    before = {name: (project / name).read_text() for name in kept}
    team = files(project)
    result = copier("update", "--conflict", "inline", cwd=project)
    return SimpleNamespace(
        project=project, fresh=fresh, team=team, before=before, result=result,
        ours=changed[0], theirs=sorted(release_lines - set(old_readme)),
    )  # fmt: skip


def scaffolded(project: Path) -> dict[str, bytes]:
    """The files as OLD wrote them: the project's first commit."""
    return files(project, run("git rev-list --max-parents=0 HEAD", project).stdout.strip())


def test_untouched_files_take_the_new_release(updated) -> None:
    project, fresh = updated.project, updated.fresh
    old, new = scaffolded(project), files(fresh)
    team_changed = {name for name, content in updated.team.items() if old.get(name) != content}
    untouched = {
        name
        for name in new
        if name not in team_changed | PER_BAKE and not name.startswith("wheels/")
    }
    stale = [name for name in sorted(untouched) if (project / name).read_bytes() != new[name]]
    assert not stale, stale
    # Not vacuous: the release changed or added some of them, the update workflow among them.
    renewed = {name for name in untouched if old.get(name) != new[name]}
    assert ".github/workflows/update.yml" in renewed, sorted(renewed)
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] == NEW
    # The new release's runtime, as the fresh bake has it, and a lock that matches.
    (wheel,) = (project / "wheels").glob("*.whl")
    assert [wheel.name] == [path.name for path in (fresh / "wheels").glob("*.whl")]
    assert "goldenpath/ops/update.py" in zipfile.ZipFile(wheel).namelist()
    run("uv lock --check --quiet", project)
    assert 'name = "copier"' in (project / "uv.lock").read_text()


def test_the_teams_edits_are_kept(updated) -> None:
    project, fresh = updated.project, updated.fresh
    old, new = scaffolded(project), files(fresh)
    for name, content in updated.team.items():
        merged = name in old and old[name] != new.get(name)  # the release changed it too
        if not merged and name not in PER_BAKE and name != "uv.lock":  # uv.lock: re-locked
            assert (project / name).read_bytes() == content, name  # the team's own, as is
    makefile = (project / "Makefile").read_text()
    assert TEAM_TARGET in makefile
    assert set((fresh / "Makefile").read_text().splitlines()) <= set(makefile.splitlines())
    assert (project / "README.md").read_text().endswith(TEAM_README)
    assert "basket_value" in run("make -s features", project).stdout


def test_a_conflict_is_named_and_keeps_both_sides(updated) -> None:
    project = updated.project
    assert run("git diff --name-only --diff-filter=U", project).stdout.split() == ["README.md"]
    named = updated.result.stdout
    assert "Both the team and the template changed the same lines of:\n  README.md\n" in named
    readme = (project / "README.md").read_text()
    conflict = readme.split("<<<<<<< before updating\n")[1].split("\n>>>>>>> after updating")[0]
    ours, theirs = conflict.split("=======\n")
    assert "we pin it in uv.lock" in ours and updated.ours not in readme
    assert any(line in theirs for line in updated.theirs), theirs


def test_the_dvc_remote_secrets_and_stack_id_stay(updated) -> None:
    project = updated.project
    for name, text in updated.before.items():
        assert (project / name).read_text() == text, name
    assert read_env(project)["COMPOSE_PROJECT_NAME"].startswith("eta-predictor-")
    assert not run("git ls-files .env", project).stdout


@pytest.fixture(scope="module")
def resolved(updated) -> Path:
    """The conflict resolved as a user would (both sides kept), the update committed."""
    project = updated.project
    readme = project / "README.md"
    markers = ("<<<<<<< before updating", "=======", ">>>>>>> after updating")
    kept = [line for line in readme.read_text().splitlines() if line not in markers]
    readme.write_text("\n".join(kept) + "\n")
    # As the report says: `git add` the file, `make setup test repro`, then commit it all.
    head = run("git add README.md && git rev-parse HEAD", project).stdout
    set_up = run("make setup", project).stdout
    assert "uv.lock staged: commit it with your other changes" in set_up, set_up
    assert run("git rev-parse HEAD", project).stdout == head  # no commit of uv.lock alone
    run("make test", project)
    run("make repro", project)  # params.yaml follows the release's conf/, as a hook requires
    # With the hooks of the new release: no marker is left, the files are formatted.
    run(f"git add -A && git commit -qm 'Update to template release {NEW}'", project)
    return project


def test_the_documented_steps_keep_the_champion_and_follow_the_new_conf(resolved: Path) -> None:
    assert smoke(resolved)["model_version"] == "1"  # the team's champion, still serving
    run("uv run --frozen python -m goldenpath.jobs.compose --check", resolved)  # params.yaml
    assert not run("git status --porcelain", resolved).stdout  # all of it committed


@pytest.fixture
def github(resolved: Path, tmp_path: Path) -> dict[str, str]:
    """A bare origin and a fake gh holding the pull requests (tests/test_workflows.py's)."""
    env = github_fake(resolved, tmp_path) | {"GITHUB_ACTIONS": "", "GH_TOKEN": ""}
    return env | {"ORIGIN": str(tmp_path / "origin.git")}


def test_make_update_names_conflicts_and_update_pr_proposes_one_pull_request(
    template: Path, resolved: Path, github: dict[str, str]
) -> None:
    project, state = resolved, Path(github["PATH"].split(":")[0]) / "pulls.json"
    (project / "scratch.txt").write_text("not committed\n")
    dirty = run("make update", project, check=False)
    assert dirty.returncode != 0 and "uncommitted changes (scratch.txt)" in dirty.stderr
    (project / "scratch.txt").unlink()
    for number, version in enumerate(LATER):
        # Each release changes a line nobody else did, and the line of conf/ the team did.
        slug = template / SLUG
        (slug / ".dockerignore").write_text((slug / ".dockerignore").read_text() + f"# {version}\n")
        edit(
            slug / "conf" / "data" / "default.yaml",
            f"rows: {20000 + number}",
            f"rows: {20001 + number}",
        )
        if number == 0:  # and a setting of the stack's, which .env gains with this copy's id
            example = slug / ".env.example"
            example.write_text(example.read_text() + "EXTRA_SECRET_KEY=\nEXTRA=x-{instance}\n")
            env_before = (project / ".env").read_text()
        release(template, version)
        done = run("make update", project).stdout
        if number == 0:
            env = read_env(project)
            assert (project / ".env").read_text().startswith(env_before)
            assert len(env["EXTRA_SECRET_KEY"]) > 30
            assert env["COMPOSE_PROJECT_NAME"] == f"eta-predictor-{env['EXTRA'][2:]}"
        assert f"# Template update: {NEW} → {version}" in done
        assert "## Conflicts: 1 to resolve" in done and "- `conf/data/default.yaml`" in done
        assert "delete the marker lines" in done
        assert (project / ".dockerignore").read_text().endswith(f"# {version}\n")
        conf = (project / "conf" / "data" / "default.yaml").read_text()
        assert "rows: 6000" in conf and f"rows: {20001 + number}" in conf  # nothing lost
        run("make update-pr", project, **github)
        pulls = json.loads(state.read_text())
        report = (project / "build" / "update-report.md").read_text()
        assert pulls == [{"number": 12, "head": "template-update", "body": report}]
        pushed = f"git --git-dir {github['ORIGIN']} show template-update:.copier-answers.yml"
        assert f"_commit: {version}" in run(pushed, project).stdout
        if number == 0:  # on the branch now, with the update: nothing more to propose
            assert "Already on it: nothing to update" in run("make update", project).stdout
            assert "changed nothing" in run("make update-pr", project, **github).stdout
        run("git checkout -q main", project)
    unset = run("make update-pr", project, check=False, **github | {"GITHUB_ACTIONS": "true"})
    assert unset.returncode != 0 and "TEMPLATE_UPDATE_TOKEN is not set" in unset.stderr


def test_the_project_pins_the_copier_the_template_is_tested_with(updated) -> None:
    template = tomllib.loads((TEMPLATE / "pyproject.toml").read_text())
    pins = {pin for pin in template["dependency-groups"]["dev"] if pin.startswith("copier")}
    project = tomllib.loads((updated.project / "pyproject.toml").read_text())
    assert len(pins) == 2 and pins <= set(project["dependency-groups"]["dev"])
