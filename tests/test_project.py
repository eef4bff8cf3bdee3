"""A baked project, set up for real: its tests, its checks, and its pipeline's promises.

Slow (minutes): every test shares one baked and set-up project; tests that change
it put it back with `git checkout` and `dvc checkout`.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import bake, require_python, run

pytestmark = pytest.mark.slow
DVC = "uv run --frozen dvc"


def stages_run(output: str) -> list[str]:
    return re.findall(r"Running stage '([\w-]+)'", output)


def ask_registry(project: Path, expression: str):
    """`expression` (JSON-able, `client` is an MlflowClient) in the project's environment."""
    script = (
        "import json, mlflow\n"
        "from eta_predictor.tracking import embedded_store\n"
        "embedded_store()\n"
        "client = mlflow.MlflowClient()\n"
        f"print(json.dumps({expression}))\n"
    )
    result = subprocess.run(
        ["uv", "run", "--frozen", "python", "-c", script], cwd=project, capture_output=True
    )
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def restore(project: Path) -> None:
    # DVC stages what it changes (core.autostage): reset the index too.
    run("git reset -q --hard HEAD && uv run --frozen dvc checkout -q --force", project)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    project = bake(tmp_path_factory.mktemp("project"))
    run("make setup", project)
    return project


@pytest.fixture(scope="module")
def trained(project: Path) -> Path:
    """The project after its first `dvc repro`, committed like a user would."""
    run("make repro", project)
    run("git add -A && git commit -qm 'First pipeline run' --no-verify", project)
    return project


def test_setup_commits_the_lock_file(project: Path) -> None:
    log = run("git log --format=%s -- uv.lock", project).stdout
    assert "Lock dependencies" in log
    assert run("git status --porcelain", project).stdout == ""


def test_project_tests_pass(project: Path) -> None:
    result = run("make test", project)
    assert re.search(r"\d+ passed", result.stdout) and "failed" not in result.stdout


def test_pre_commit_passes_and_changes_nothing(project: Path) -> None:
    result = run("make lint", project)
    assert "Failed" not in result.stdout
    assert run("git status --porcelain", project).stdout == ""


def test_repro_registers_a_champion_that_beats_the_baseline(trained: Path) -> None:
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["holdout"]["mae"] < 0.5 * metrics["baseline_mae"]
    decision = json.loads((trained / "reports" / "registration.json").read_text())
    assert decision["alias"] == "champion"
    champion = "client.get_model_version_by_alias('eta-predictor', 'champion').version"
    assert int(ask_registry(trained, champion)) == decision["version"]
    for plot in ("mae_by_city.csv", "predicted_vs_actual.csv"):
        assert (trained / "reports" / "plots" / plot).stat().st_size > 0
    html = run(f"{DVC} plots show -o plots-html", trained)
    assert "plots-html" in html.stdout
    shutil.rmtree(trained / "plots-html")


def test_champion_answers_a_prediction(trained: Path) -> None:
    answer = run("make smoke", trained).stdout
    prediction = json.loads(answer.split("-> ", 1)[1])
    assert 5 < prediction["delivery_minutes"][0] < 120


def test_second_repro_does_nothing(trained: Path) -> None:
    output = run(f"{DVC} repro", trained).stdout
    assert stages_run(output) == []
    assert "Data and pipelines are up to date." in output


def test_editing_conf_reruns_only_dependent_stages(trained: Path) -> None:
    config = trained / "conf" / "model" / "hist_gradient_boosting.yaml"
    config.write_text(config.read_text().replace("learning_rate: 0.1", "learning_rate: 0.15"))
    try:
        output = run(f"{DVC} repro", trained).stdout
        assert stages_run(output) == ["compose", "train", "evaluate", "register"]
        assert "learning_rate: 0.15" in (trained / "params.yaml").read_text()
        diff = run(f"{DVC} params diff", trained).stdout
        assert re.search(r"model\.learning_rate\s+0\.1\s+0\.15", diff), diff
    finally:
        restore(trained)


def test_a_comment_in_conf_recomposes_nothing_else(trained: Path) -> None:
    config = trained / "conf" / "data" / "default.yaml"
    config.write_text(config.read_text() + "# a note\n")
    try:
        assert stages_run(run(f"{DVC} repro", trained).stdout) == ["compose"]
    finally:
        restore(trained)


def test_exp_run_overrides_compose_like_repro(trained: Path) -> None:
    try:
        output = run(f"{DVC} exp run -S model=ridge -S train.log_target=true", trained).stdout
        assert stages_run(output) == ["compose", "train", "evaluate", "register"]
        params = (trained / "params.yaml").read_text()
        assert "sklearn.linear_model.Ridge" in params and "log_target: true" in params
        shown = run(f"{DVC} exp show --csv", trained).stdout
        assert "sklearn.linear_model.Ridge" in shown
    finally:
        restore(trained)


def test_queued_sweep_runs_each_variant(trained: Path) -> None:
    queued = run(f"{DVC} exp run --queue -S 'model=ridge,random_forest'", trained).stdout
    assert queued.count("Queued experiment") == 2
    run(f"{DVC} exp run --run-all", trained)
    shown = run(f"{DVC} exp show --csv", trained).stdout
    assert "sklearn.linear_model.Ridge" in shown and "RandomForestRegressor" in shown
    assert shown.count("Success") == 2
    # Runs from the temporary workspaces land in the project's own MLflow store.
    versions = json.loads((trained / "reports" / "registration.json").read_text())["version"]
    registered = "len(client.search_model_versions(\"name='eta-predictor'\"))"
    assert ask_registry(trained, registered) >= versions + 2
    assert run("git status --porcelain", trained).stdout == ""


def test_broken_data_stops_the_pipeline_with_a_report(trained: Path) -> None:
    raw = trained / "data" / "raw" / "orders.csv"
    lines = raw.read_text().splitlines()
    lines[3] = lines[3].replace(",lisbon,", ",atlantis,").replace(",madrid,", ",atlantis,")
    raw.unlink()  # DVC links cached files read-only: write a new file
    raw.write_text("\n".join([*lines[:5], "1,oops"]) + "\n")
    try:
        result = run(f"{DVC} repro --single-item validate", trained, check=False)
        assert result.returncode != 0
        assert "breaks the data contract" in result.stderr
        assert not (trained / "data" / "validated" / "orders.csv").exists()
    finally:
        restore(trained)
    assert stages_run(run(f"{DVC} repro", trained).stdout) == []


def test_push_then_pull_into_a_fresh_clone_restores_identical_data(trained, tmp_path) -> None:
    run(f"{DVC} push -q", trained)
    clone = tmp_path / "clone"
    run(f"git clone -q {trained} {clone}", tmp_path)
    run(f"{trained / '.venv' / 'bin' / 'dvc'} pull -q", clone)
    tracked = [
        "data/raw/orders.csv",
        "data/validated/orders.csv",
        "data/split/train.csv",
        "data/split/holdout.csv",
        "models/model/model.skops",
    ]
    for path in tracked:
        assert (clone / path).read_bytes() == (trained / path).read_bytes(), path


def test_a_second_bake_gives_identical_metrics(trained: Path, tmp_path) -> None:
    """Same answers, fresh scaffold (on the other supported Python): same numbers."""
    require_python("3.13")
    other = bake(tmp_path, python_version="3.13")
    run("make setup repro test", other)
    for path in ("metrics.json", "reports/plots/mae_by_city.csv"):
        assert (other / path).read_text() == (trained / path).read_text(), path


def test_ci_pipeline_and_metrics_report_against_a_base_commit(trained: Path) -> None:
    """`make repro-ci` then `make metrics-report`: both sides on the sample data."""
    base = run("git rev-parse HEAD", trained).stdout.strip()
    full_data = json.loads((trained / "metrics.json").read_text())
    config = trained / "conf" / "model" / "hist_gradient_boosting.yaml"
    config.write_text(config.read_text().replace("learning_rate: 0.1", "learning_rate: 0.3"))
    run("git commit -qam 'Learn faster' --no-verify", trained)
    head = run("git rev-parse --short HEAD", trained).stdout.strip()
    try:
        run("make repro-ci", trained)
        assert "n_orders: 2000" in (trained / "params.yaml").read_text()
        run(f"make metrics-report BASE={base}", trained)
        table = (trained / "build" / "metrics-report.md").read_text()
        assert table.startswith("<!-- metrics-report -->")
        assert f"| Metric | Base `{base[:7]}` | This PR `{head}` | Change |" in table
        assert "No base values" not in table
        rows = {
            name: (float(before), float(after), change)
            for name, before, after, change in re.findall(
                r"^\| ([\w.]+) \| ([\d.]+) \| ([\d.]+) \| (.+) \|$", table, re.M
            )
        }
        before, after, change = rows["holdout.mae"]
        assert before != after
        assert change.startswith(f"{after - before:+.4f}") and change.endswith(("better", "worse"))
        # Both sides ran on the sample: the same baseline, not the full data's.
        assert rows["baseline_mae"][:2] == (rows["baseline_mae"][0],) * 2
        assert rows["baseline_mae"][2] == "no change"
        assert rows["baseline_mae"][0] != round(full_data["baseline_mae"], 4)
    finally:
        run(f"git reset -q --hard {base} && {DVC} checkout -q --force", trained)
