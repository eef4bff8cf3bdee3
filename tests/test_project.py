"""A baked project, set up for real: its tests, its checks, and its pipeline's promises.

Slow (minutes): every test shares one baked and set-up project (conftest.py);
tests that change it put it back with `restore`.
"""

import json
import re
import shutil
from pathlib import Path

import pytest

from .conftest import DVC, RELEASE, TEMPLATE, ask_registry, restore, run

pytestmark = pytest.mark.slow
VERSIONS = "len(client.search_model_versions(\"name='eta-predictor'\"))"


def stages_run(output: str) -> list[str]:
    return re.findall(r"Running stage '([\w-]+)'", output)


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
    assert decision["promoted"] and decision["candidate"]["version"] == "1"
    champion = "client.get_model_version_by_alias('eta-predictor', 'champion').version"
    assert str(ask_registry(trained, champion)) == "1"
    record = json.loads((trained / "models" / "champion" / "champion.json").read_text())
    assert record["model_version"] == "1" and record["git_dirty"] == "false"
    for plot in ("mae_by_segment.csv", "predicted_vs_actual.csv"):
        assert (trained / "reports" / "plots" / plot).stat().st_size > 0
    html = run(f"{DVC} plots show -o plots-html", trained)
    assert "plots-html" in html.stdout
    shutil.rmtree(trained / "plots-html")


def test_quickstart_pieces_end_with_a_summary_and_a_prediction(trained: Path) -> None:
    answer = run("make smoke", trained).stdout
    prediction = json.loads(answer.split("-> ", 1)[1])
    assert 5 < prediction["delivery_minutes"][0] < 120
    summary = run("make summary", trained).stdout
    assert "eta-predictor version 1" in summary and "models/champion/" in summary
    assert "make serve" in summary and "make ui" in summary
    assert re.search(r"Holdout MAE: \d+\.\d\d", summary)


SCORE_INPUT = """\
import sys
import pandas as pd
# use_threads=False: pandas on pyarrow 25 aborts at exit now and then with threads
rows = pd.read_parquet("data/split/holdout.parquet", use_threads=False).head(500)  # target ignored
bad = rows.head(2).assign(distance_km=[99.0, None]).astype({"distance_km": object})
pd.concat([rows, bad]).to_csv(sys.argv[1], index=False)
"""


def test_make_score_scores_a_table_and_sets_its_bad_rows_aside(trained: Path, tmp_path) -> None:
    orders, scores = tmp_path / "orders.csv", tmp_path / "scores.parquet"
    run(f"uv run --frozen python - {orders} <<'EOF'\n{SCORE_INPUT}EOF", trained)
    done = run(f"make score INPUT={orders} OUTPUT={scores}", trained).stdout
    assert "Scored 500 of 502 rows" in done and "eta-predictor version 1" in done, done
    assert f"Rejected 2 rows, each with its reasons: {tmp_path / 'scores.rejects.parquet'}" in done
    check = (
        "import pandas as pd, sys; s = pd.read_parquet(sys.argv[1], use_threads=False); "
        "r = pd.read_parquet(sys.argv[1].replace('.parquet', '.rejects.parquet'),"
        " use_threads=False); "
        "print(len(s), s.model_version.unique().tolist(), s.prediction.between(1, 240).all(), "
        "r.reject_reason.tolist())"
    )
    shown = run(f'uv run --frozen python -c "{check}" {scores}', trained).stdout.strip()
    assert shown == (
        "500 ['1'] True ['distance_km 99 is outside [0.1, 30]', 'distance_km is missing']"
    ), shown
    usage = run("make score", trained, check=False)
    assert usage.returncode != 0 and "usage: make score INPUT=" in usage.stderr
    assert run("git status --porcelain", trained).stdout == ""


def test_make_ui_opens_the_project_store_and_leaves_no_stray_database(trained: Path) -> None:
    uri = run("uv run --frozen python -m goldenpath.core.tracking", trained).stdout.strip()
    assert uri == f"sqlite:///{trained / '.mlflow' / 'mlflow.db'}"
    assert "--backend-store-uri" in run("make -n ui", trained).stdout
    assert not (trained / "mlflow.db").exists()


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


def runtime_release(project: Path, source: Path, version: str, **revisions: int) -> None:
    """The goldenpath runtime as `version`, these stages' revisions bumped (what a release
    that changes them does), in the project's wheels/ and locked, as an upgrade brings it."""
    shutil.copytree(
        TEMPLATE / "runtime", source, ignore=shutil.ignore_patterns(".*", "tests", "uv.lock")
    )
    edits = [("pyproject.toml", r'^version = "[^"]+"$', f'version = "{version}"')]
    edits += [
        ("src/goldenpath/core/stages.py", rf'^    "{stage}": \d+,$', f'    "{stage}": {n},')
        for stage, n in revisions.items()
    ]
    for name, pattern, line in edits:
        path = source / name
        text, found = re.subn(pattern, line, path.read_text(), count=1, flags=re.M)
        assert found == 1, (path, pattern)
        path.write_text(text)
    run(f"uv build --quiet --wheel --out-dir wheels {source}", project)
    pyproject = project / "pyproject.toml"  # where it names the bundled wheel by its path
    wheel = f"wheels/goldenpath-{version}-py3-none-any.whl"
    pyproject.write_text(re.sub(r"wheels/goldenpath-[^/\"]+\.whl", wheel, pyproject.read_text()))
    run("uv lock --quiet --upgrade-package goldenpath && uv sync --quiet", project)
    assert f'name = "goldenpath"\nversion = "{version}"' in (project / "uv.lock").read_text()


def test_a_runtime_release_that_changes_a_job_reruns_its_stage(trained: Path, tmp_path) -> None:
    """What computes a stage is the runtime's: a release that changes the split (its revision
    bumped) re-runs the split, and, its output the same, nothing after it. (A release that
    changes nothing a stage computes re-runs nothing: test_runtime_upgrade.py.)"""
    try:
        runtime_release(trained, tmp_path / "runtime", f"{RELEASE}.post1", split=2)
        assert "uv.lock" in run(f"{DVC} status", trained).stdout
        assert stages_run(run(f"{DVC} repro", trained).stdout) == ["compose", "split"]
        assert "goldenpath split/2;" in (trained / "runtime.yaml").read_text()
    finally:
        restore(trained)
        run("uv sync --quiet --frozen", trained)  # the committed uv.lock's runtime again


def test_a_comment_in_conf_recomposes_nothing_else(trained: Path) -> None:
    config = trained / "conf" / "data" / "default.yaml"
    config.write_text(config.read_text() + "# a note\n")
    try:
        assert stages_run(run(f"{DVC} repro", trained).stdout) == ["compose"]
    finally:
        restore(trained)


def test_a_typo_in_conf_stops_at_compose_with_the_key(trained: Path) -> None:
    config = trained / "conf" / "data" / "default.yaml"
    config.write_text(config.read_text().replace("holdout_fraction:", "holdout_fractoin:"))
    try:
        result = run(f"{DVC} repro", trained, check=False)
        assert result.returncode != 0
        assert "data.holdout_fractoin: unknown key" in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        restore(trained)


def test_an_experiment_is_registered_once_and_never_drifts_unnoticed(trained: Path) -> None:
    before = ask_registry(trained, VERSIONS)
    try:
        output = run(f"{DVC} exp run -S model=ridge -S train.log_target=true", trained).stdout
        assert stages_run(output) == ["compose", "train", "evaluate", "register"]
        params = (trained / "params.yaml").read_text()
        assert "sklearn.linear_model.Ridge" in params and "log_target: true" in params
        assert "sklearn.linear_model.Ridge" in run(f"{DVC} exp show --csv", trained).stdout
        assert ask_registry(trained, VERSIONS) == before + 1
        ridge = json.loads((trained / "reports" / "registration.json").read_text())["candidate"]
        run_tags = f"client.get_run('{ridge['run_id']}').data.tags"
        tags = ask_registry(trained, run_tags)
        assert tags["git.dirty"] == "false" and tags["dvc.experiment"]
        # Committing the experiment's params.yaml, which conf/ does not give, is refused...
        refused = run("git commit -qam 'Ridge'", trained, check=False)
        assert refused.returncode != 0 and "model._target_" in refused.stdout + refused.stderr
        # ...and `make repro` goes back to conf/'s values, saying which it drops.
        output = run("make repro", trained).stdout
        assert "params.yaml now follows conf/" in output and "Ridge" in output
        assert "HistGradientBoostingRegressor" in (trained / "params.yaml").read_text()
        # The same experiment again: its stages come from the run cache, nothing new is registered.
        run(f"{DVC} exp run -S model=ridge -S train.log_target=true", trained)
        assert ask_registry(trained, VERSIONS) == before + 1
        run("make repro", trained)
        assert ask_registry(trained, VERSIONS) == before + 1
    finally:
        restore(trained)


def test_queued_sweep_runs_each_variant_and_registers_none(trained: Path) -> None:
    before = ask_registry(trained, VERSIONS)
    queued = run(f"{DVC} exp run --queue -S 'model=ridge,lightgbm'", trained).stdout
    assert queued.count("Queued experiment") == 2
    run(f"{DVC} exp run --run-all", trained)
    shown = run(f"{DVC} exp show --csv", trained).stdout
    assert "sklearn.linear_model.Ridge" in shown and "lightgbm.LGBMRegressor" in shown
    assert shown.count("Success") == 2
    # The trials' runs land in the project's store; no trial registers a version.
    runs = "len(mlflow.search_runs(experiment_names=['eta-predictor']))"
    assert ask_registry(trained, runs) >= 3
    assert ask_registry(trained, VERSIONS) == before
    assert run("git status --porcelain", trained).stdout == ""


def test_broken_data_stops_the_pipeline_with_a_report(trained: Path) -> None:
    script = (
        "import os, pandas as pd; p = 'data/raw/table.parquet';"
        " t = pd.read_parquet(p, use_threads=False);"
        " t.loc[3, 'city'] = 'atlantis'; t.loc[5, 'distance_km'] = -1.0;"
        " os.unlink(p); t.to_parquet(p)"  # a new file: DVC may link cached files read-only
    )
    run(f'uv run --frozen python -c "{script}"', trained)
    try:
        result = run(f"{DVC} repro --single-item validate", trained, check=False)
        assert result.returncode != 0
        assert "breaks the data contract" in result.stderr and "atlantis" in result.stderr
        assert "Traceback" not in result.stderr
        assert not (trained / "data" / "validated" / "table.parquet").exists()
    finally:
        restore(trained)
    assert stages_run(run(f"{DVC} repro", trained).stdout) == []


def test_ci_pipeline_and_metrics_report_against_a_base_commit(trained: Path) -> None:
    """`make repro-ci` then `make metrics-report`: both sides on the sample data."""
    base = run("git rev-parse HEAD", trained).stdout.strip()
    full_data = json.loads((trained / "metrics.json").read_text())
    config = trained / "conf" / "model" / "hist_gradient_boosting.yaml"
    config.write_text(config.read_text().replace("learning_rate: 0.1", "learning_rate: 0.3"))
    run("make params && git commit -qam 'Learn faster' --no-verify", trained)
    head = run("git rev-parse --short HEAD", trained).stdout.strip()
    try:
        run("make repro-ci", trained)
        assert "sample_rows: 2000" in (trained / "params.yaml").read_text()
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
        # The table rounds each side to 4 places and the change from unrounded values.
        assert abs(float(change.split()[0]) - (after - before)) <= 2e-4
        assert change.endswith(("better", "worse"))
        # Both sides ran on the sample: the same baseline, not the full data's.
        assert rows["baseline_mae"][:2] == (rows["baseline_mae"][0],) * 2
        assert rows["baseline_mae"][2] == "no change"
        assert rows["baseline_mae"][0] != round(full_data["baseline_mae"], 4)
    finally:
        restore(trained, base)
