"""The monitoring loop's commands: the monitor's verdict, outcomes, a replayed week, stores."""

import hashlib
import json
import shutil
import socket
import sys
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import uvicorn
from dvc.repo import Repo
from sklearn.metrics import mean_absolute_error as mae

from goldenpath.core import model_io
from goldenpath.core.champion import ChampionRecord
from goldenpath.core.contract import ContractViolation
from goldenpath.core.params import compose_params
from goldenpath.monitoring import monitor, outcomes, simulate
from goldenpath.monitoring.log import PredictionLog
from goldenpath.monitoring.store import (
    OFF,
    PREDICTION,
    PostgresStore,
    StoreProblem,
    open_store,
    with_outcomes,
)
from goldenpath.monitoring.training_data import NoReference, reference_table
from goldenpath.serving.app import create_app

from .champions import fitted, save_champion
from .conftest import PROJECT
from .usecase import CONTRACT, USE_CASE

KEY, TARGET = CONTRACT.key, CONTRACT.target.name


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project root of its own, a DVC repository, with its own prediction log."""
    shutil.copytree(PROJECT, tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PREDICTION_LOG", str(tmp_path / "logs"))
    Repo.init(no_scm=True)
    return tmp_path


def champion_trained_on(rows: pd.DataFrame, *, cached: bool) -> Path:
    """models/champion, trained on `rows`, whose record carries the DVC hash of that
    table; with `cached`, the table is in the DVC cache, as `dvc repro` leaves it."""
    table = Path("train.parquet")
    rows.to_parquet(table)
    md5 = hashlib.md5(table.read_bytes()).hexdigest()
    if cached:
        where = Path(Repo(".").cache.local.oid_to_path(md5))
        where.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(table, where)
    tags = {"git.commit": "abc123", "git.dirty": "false", "dvc.data_md5": md5}
    return save_champion(fitted(rows), Path("models/champion"), rows, tags)


def log_predictions(model_dir: Path, rows: pd.DataFrame, label: str) -> None:
    """`rows` predicted by the model at `model_dir`, logged as the service logs them."""
    predicted = model_io.load_model(str(model_dir)).predict(rows[CONTRACT.feature_names])
    log = PredictionLog(open_store(CONTRACT), interval_s=60)
    answers = [(float(value), label) for value in predicted]
    log.record(rows[[KEY, *CONTRACT.feature_names]].to_dict("records"), answers)
    log.close()


def test_the_monitor_judges_the_window_against_the_models_training_data(project, monkeypatch):
    champion = champion_trained_on(CONTRACT.samples(2000, seed=1), cached=True)
    week = CONTRACT.samples(800, seed=2)
    log_predictions(champion, week, f"{USE_CASE.name}/7")
    log_predictions(champion, week.head(5).assign(**{KEY: range(9001, 9006)}), "older/1")
    outcomes.add_outcomes(open_store(CONTRACT), week[[KEY, TARGET]], "delivered.csv")
    record = ChampionRecord.read(champion)
    holdout = CONTRACT.samples(1000, seed=3)
    model = model_io.load_model(str(champion))
    holdout_mae = mae(holdout[TARGET], model.predict(holdout[CONTRACT.feature_names]))
    replace(record, holdout={"mae": holdout_mae}).write(champion)
    monkeypatch.setattr(sys, "argv", ["monitor", "monitor.window_hours=1"])
    monitor.main()  # no alarm: it returns
    summary = json.loads(Path("reports/monitoring/summary.json").read_text())
    assert not summary["alarm"], summary["failed"]
    assert summary["window"]["predictions"] == 800 and summary["window"]["with_outcomes"] == 800
    assert summary["window"]["other_models"] == ["older 1"]  # logged, but not judged
    assert summary["model"]["training_rows"] == 2000 and summary["model"]["version"] == "7"
    assert summary["tests"]["total"] > len(CONTRACT.features)
    report = Path("reports/monitoring/report.html").read_text()
    assert 'id="monitor-summary"' in report and "Nothing moved" in report  # at its top
    assert list(Path("reports/monitoring/workspace").iterdir())  # for the Evidently UI
    # The same window, judged against a holdout error the live error is far above: exit 1.
    replace(record, holdout={"mae": holdout_mae / 3}).write(champion)
    with pytest.raises(SystemExit) as stopped:
        monitor.main()
    assert stopped.value.code == 1
    summary = json.loads(Path("reports/monitoring/summary.json").read_text())
    assert summary["alarm"] and summary["moved"]["error"] == ["overall"]


def test_too_few_predictions_are_nothing_to_judge_and_say_what_to_check(project) -> None:
    champion = champion_trained_on(CONTRACT.samples(300, seed=1), cached=True)
    log_predictions(champion, CONTRACT.samples(20, seed=2), f"{USE_CASE.name}/7")
    settings = monitor.parse_params(monitor.compose_params()).monitor
    now = datetime.now(UTC)
    few = r"^20 predictions of eta-test version 7 .*monitor\.min_rows: 500.*PREDICTION_LOG"
    with pytest.raises(monitor.NothingToJudge, match=few):
        monitor.run(settings, now - timedelta(hours=1), now + timedelta(minutes=1))


def test_training_data_missing_from_cache_and_remote_is_explained(project) -> None:
    champion = champion_trained_on(CONTRACT.samples(300, seed=1), cached=False)
    record = ChampionRecord.read(champion)
    with pytest.raises(NoReference, match=r"not in this DVC cache .*uv run dvc pull"):
        reference_table(record, None, CONTRACT)
    with pytest.raises(NoReference, match="records no DVC hash of its training data"):
        reference_table(replace(record, data_md5="unknown"), None, CONTRACT)


def test_the_reference_is_the_cached_table_with_the_models_predictions(project) -> None:
    rows = CONTRACT.samples(300, seed=1)
    champion = champion_trained_on(rows, cached=True)
    model = model_io.load_model(str(champion))
    reference = reference_table(ChampionRecord.read(champion), model, CONTRACT)
    assert list(reference.columns) == [*CONTRACT.feature_names, TARGET, PREDICTION]
    assert reference[PREDICTION].tolist() == model.predict(rows[CONTRACT.feature_names]).tolist()


def test_outcomes_from_a_file_are_stored_and_a_key_reported_again_replaces_its_own(
    project, monkeypatch, capsys
) -> None:
    champion = champion_trained_on(CONTRACT.samples(300, seed=1), cached=False)
    orders = CONTRACT.samples(10, seed=4)
    log_predictions(champion, orders, f"{USE_CASE.name}/7")
    orders[[KEY, TARGET]].to_csv("delivered.csv", index=False)
    monkeypatch.setattr(sys, "argv", ["outcomes", "delivered.csv"])
    outcomes.main()
    assert f"10 outcomes ({KEY}, {TARGET}) stored" in capsys.readouterr().out
    corrected = orders[[KEY, TARGET]].head(1).assign(**{TARGET: CONTRACT.target.maximum})
    outcomes.add_outcomes(open_store(CONTRACT), corrected, "corrections.csv")
    now = datetime.now(UTC)
    joined = with_outcomes(open_store(CONTRACT), CONTRACT, now - timedelta(hours=1), now)
    assert joined[TARGET].tolist() == [CONTRACT.target.maximum, *orders[TARGET].tolist()[1:]]


def test_the_store_is_a_folder_postgres_or_off(tmp_path, monkeypatch) -> None:
    assert open_store(CONTRACT, OFF) is None
    with pytest.raises(StoreProblem, match="PREDICTION_LOG='s3://bucket': give a folder"):
        open_store(CONTRACT, "s3://bucket")
    secret = tmp_path / "password"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("PREDICTION_LOG_PASSWORD_FILE", str(secret))
    store = open_store(CONTRACT, "postgresql://monitor@127.0.0.1:1/predictions")
    assert isinstance(store, PostgresStore) and store.password == "from-a-file"
    # Nothing connects before it is used; then the fault names the host, not the user.
    with pytest.raises(StoreProblem, match=r"^cannot reach the prediction store at 127\.0\.0\.1"):
        store.outcomes([1])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def service(model_dir):
    """The service on a port of its own, in this process (simulate talks HTTP)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(str(model_dir)), port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_a_replayed_week_is_predicted_then_its_outcomes_are_stored(service, monkeypatch, capsys):
    argv = ["simulate", "changed", "--url", service, "--orders", "40", "--seed", "3"]
    monkeypatch.setattr(sys, "argv", argv)
    simulate.main()
    printed = capsys.readouterr().out
    assert f"changed week: 40 orders predicted by {service}, 40 outcomes stored." in printed
    assert "make monitor ARGS='monitor.since=" in printed
    now = datetime.now(UTC)
    joined = with_outcomes(open_store(CONTRACT), CONTRACT, now - timedelta(minutes=5), now)
    replayed = joined[joined[TARGET].notna()]
    assert len(replayed) == 40 and replayed[KEY].is_unique
    week = USE_CASE.scenarios["changed"](40, 3)
    assert sorted(replayed[TARGET]) == sorted(week[TARGET])


def test_a_week_nobody_answers_says_where_the_service_should_be(monkeypatch) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setattr(sys, "argv", ["simulate", "normal", "--url", url, "--orders", "5"])
    with pytest.raises(simulate.ReplayFailed, match=f"5 of 5 orders were not answered by {url}"):
        simulate.main()


def test_a_week_that_lacks_a_feature_of_the_contract_is_refused_before_any_request(
    monkeypatch,
) -> None:
    feature = CONTRACT.feature_names[0]

    def without_the_feature(rows: int, seed: int) -> pd.DataFrame:
        return USE_CASE.scenarios["normal"](rows, seed).drop(columns=[feature])

    case = replace(USE_CASE, scenarios={"normal": without_the_feature})
    monkeypatch.setattr(simulate, "use_case", lambda: case)
    url = f"http://127.0.0.1:{free_port()}"  # nobody there: the check comes first
    monkeypatch.setattr(sys, "argv", ["simulate", "normal", "--url", url, "--orders", "5"])
    with pytest.raises(simulate.ReplayFailed, match=rf"'normal' week .* makes no \['{feature}'\]"):
        simulate.main()


def test_a_table_of_the_teams_own_orders_is_replayed_and_a_bad_one_refused(
    service, monkeypatch, capsys, tmp_path
) -> None:
    own = tmp_path / "last_week.csv"
    USE_CASE.scenarios["normal"](30, 8).drop(columns=[KEY], errors="ignore").to_csv(own)
    monkeypatch.setattr(sys, "argv", ["simulate", str(own), "--url", service])
    simulate.main()
    captured = capsys.readouterr()
    assert f"the {own} week" not in captured.err  # its own orders: no note
    assert f"{own} week: 30 orders predicted by {service}, 30 outcomes stored." in captured.out
    broken = pd.read_csv(own).assign(**{CONTRACT.feature_names[0]: -5.0})
    broken.to_csv(own, index=False)
    with pytest.raises(ContractViolation, match=rf"^{own} breaks the data contract"):
        simulate.main()


def test_a_scenario_beside_the_teams_own_data_is_said_to_be_synthetic(
    service, monkeypatch, capsys, tmp_path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["simulate", "normal", "--url", service, "--orders", "5"])
    simulate.main()
    assert capsys.readouterr().err == ""  # no params.yaml yet: nothing else to compare with
    conf = Path(__file__).parent / "project" / "conf"
    params = compose_params(conf, ["data.source=data/external/orders.csv"])
    (tmp_path / "params.yaml").write_text(params)
    simulate.main()
    note = capsys.readouterr().err
    assert note.startswith("note: the 'normal' week is the example generator's (synthetic.py)")
    assert "make simulate WEEK=path/to/orders.csv" in note
    monkeypatch.setattr(sys, "argv", ["simulate", "stormy", "--url", service])
    with pytest.raises(simulate.ReplayFailed, match=r"'stormy' is no scenario .*\['changed', 'n"):
        simulate.main()
