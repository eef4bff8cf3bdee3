"""Monitoring: the prediction log, the live metrics, outcomes, and the monitor's verdicts.

Built from the contract's own rows (Contract.samples), never the example generator.
"""

import threading
import time
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from goldenpath.core import model_io
from goldenpath.core.champion import ChampionRecord
from goldenpath.core.contract import ContractViolation
from goldenpath.core.params import compose_params, parse_params
from goldenpath.core.reference import training_profile
from goldenpath.monitoring import checks
from goldenpath.monitoring.log import PredictionLog
from goldenpath.monitoring.metrics import PredictionMetrics, buckets
from goldenpath.monitoring.outcomes import add_outcomes
from goldenpath.monitoring.store import (
    PREDICTION,
    Entry,
    FolderStore,
    open_store,
    with_outcomes,
)
from goldenpath.serving.app import create_app

from .conftest import PROJECT
from .usecase import CONTRACT, LATE_USE_CASE, USE_CASE

KEY, TARGET, BY = CONTRACT.key, CONTRACT.target.name, USE_CASE.segment
MODEL_9 = {"model_name": "m", "model_version": "9"}
SETTINGS = parse_params(compose_params(PROJECT / "conf")).monitor


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def rows_of(table: pd.DataFrame) -> list[dict]:
    return table[[KEY, *CONTRACT.feature_names]].to_dict(orient="records")


def window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(hours=2), now + timedelta(minutes=1)


class SlowStore:
    """A store that holds every write until it is let go, or fails every write."""

    def __init__(self, fail: bool = False) -> None:
        self.go, self.fail, self.written = threading.Event(), fail, []

    def write(self, entries) -> None:
        if self.fail:
            raise ConnectionError("the database is down")
        self.go.wait(10)
        self.written += entries


def test_the_log_keeps_every_prediction_and_a_stop_writes_what_is_queued(tmp_path) -> None:
    store = FolderStore(CONTRACT, tmp_path)
    log = PredictionLog(store, interval_s=60)  # nothing is written before close()
    orders = CONTRACT.samples(30, seed=3)
    log.record(rows_of(orders.head(10)), [(1.0, "m/4")] * 10)
    log.record(rows_of(orders.tail(20)), [(2.0, "m-city/1")] * 20)  # a segment's own model
    assert store.predictions(*window()).empty
    log.close()
    logged = store.predictions(*window())
    assert logged[KEY].tolist() == orders[KEY].tolist()
    pd.testing.assert_frame_equal(
        logged[CONTRACT.feature_names], orders[CONTRACT.feature_names], check_dtype=False
    )
    assert logged[PREDICTION].tolist() == [1.0] * 10 + [2.0] * 20
    assert logged["model_name"].tolist() == ["m"] * 10 + ["m-city"] * 20
    assert logged["model_version"].tolist() == ["4"] * 10 + ["1"] * 20
    hour = datetime.now(UTC)
    assert list(tmp_path.glob(f"predictions/date={hour:%Y-%m-%d}/hour=*/*.jsonl"))


def test_a_line_still_being_written_is_not_read_yet(tmp_path) -> None:
    """A service logs while `make monitor` (or a test) reads: its last line may be half."""
    store = FolderStore(CONTRACT, tmp_path)
    log = PredictionLog(store, interval_s=60)
    log.record(rows_of(CONTRACT.samples(3, seed=4)), [(1.0, "m/4")] * 3)
    log.close()
    [path] = tmp_path.glob("predictions/*/*/*.jsonl")
    whole = path.read_bytes()
    path.write_bytes(whole + whole[: len(whole) // 5])  # a fourth record, a fifth of it written
    assert len(store.predictions(*window())) == 3


def test_a_value_with_a_line_separator_of_unicode_is_one_record(tmp_path) -> None:
    """Text a client sends (an id) may hold U+2028 or \x1c: JSON keeps them raw."""
    store = FolderStore(LATE_USE_CASE.contract, tmp_path)
    log = PredictionLog(store, interval_s=60)
    odd = "a\u2028b\x1cc\x85d"
    order = LATE_USE_CASE.contract.request_model(
        **LATE_USE_CASE.contract.example | {"restaurant": odd}
    )
    log.record([order.model_dump() | {KEY: 7}], [(0.4, "m/1")])
    log.close()
    assert store.predictions(*window())["restaurant"].tolist() == [odd]


def test_a_full_buffer_drops_and_counts_and_never_blocks() -> None:
    store = SlowStore()
    log = PredictionLog(store, capacity=10, batch=1, interval_s=0.01)
    rows = rows_of(CONTRACT.samples(10))
    log.record(rows, [(1.0, "m/1")] * 10)  # taken by the writer, which then waits
    time.sleep(0.2)
    dropped = metric("prediction_log_dropped_total")
    start = time.perf_counter()
    for _ in range(3):
        log.record(rows, [(1.0, "m/1")] * 10)  # one fits in the buffer, two do not
    assert time.perf_counter() - start < 0.05
    assert metric("prediction_log_dropped_total") == dropped + 20
    store.go.set()
    log.close()
    assert sum(len(entry.rows) for entry in store.written) == 20


def test_a_failing_store_counts_what_it_lost_and_raises_nothing() -> None:
    failed = metric("prediction_log_failed_total")
    log = PredictionLog(SlowStore(fail=True), interval_s=0.01)
    log.record(rows_of(CONTRACT.samples(5)), [(1.0, "m/1")] * 5)
    log.close()
    assert metric("prediction_log_failed_total") == failed + 5


def test_metrics_count_predictions_by_segment_and_inputs_outside_training() -> None:
    trained_on = CONTRACT.samples(200, seed=1)
    numeric = CONTRACT.numeric[0]
    low = trained_on[numeric].min()
    baseline = {"prediction_mean": 30.0, "prediction_std": 5.0}
    record = ChampionRecord("m", "9", "run", {"mae": 1.0}, "c", "false", "d", "", baseline=baseline)
    metrics = PredictionMetrics(USE_CASE, [record], training_profile(trained_on, CONTRACT))
    assert metric("prediction_baseline_mean", model_name="m", model_version="9") == 30.0
    orders = rows_of(CONTRACT.samples(3, seed=2))
    orders[0][numeric] = low - 1  # below anything training saw
    segment = str(orders[1][BY])
    before = {
        "outside": metric("prediction_input_out_of_range_total", feature=numeric),
        "orders": metric("predicted_orders_total", model_name="m", model_version="9"),
        "segment": metric("prediction_count", **{BY: segment, **MODEL_9}),
    }
    answers = [(10.0, "m/9"), (20.0, "m/9"), (30.0, "m/9")]
    metrics.observe([Entry(datetime.now(UTC), orders, answers)])
    assert metric("prediction_input_out_of_range_total", feature=numeric) == before["outside"] + 1
    orders_now = metric("predicted_orders_total", model_name="m", model_version="9")
    assert orders_now == before["orders"] + 3
    in_segment = metric("prediction_count", **{BY: segment, **MODEL_9})
    assert in_segment >= before["segment"] + 1
    edges = buckets(CONTRACT.target.minimum, CONTRACT.target.maximum)
    assert edges[0] <= CONTRACT.target.minimum and edges[-1] >= CONTRACT.target.maximum


def test_a_bool_seen_in_training_is_not_outside_it() -> None:
    contract = LATE_USE_CASE.contract
    trained_on = contract.samples(200, seed=1)
    record = ChampionRecord("m", "9", "run", {"log_loss": 0.3}, "c", "false", "d", "")
    metrics = PredictionMetrics(LATE_USE_CASE, [record], training_profile(trained_on, contract))
    before = metric("prediction_input_out_of_range_total", feature="priority")
    orders = contract.samples(4, seed=2)[contract.feature_names].to_dict(orient="records")
    orders[0]["priority"], orders[1]["priority"] = True, False  # both seen in training
    metrics.observe([Entry(datetime.now(UTC), orders, [(0.2, "m/9")] * 4)])
    assert metric("prediction_input_out_of_range_total", feature="priority") == before


def test_outcomes_are_checked_whole_then_joined_by_key(tmp_path) -> None:
    store = open_store(CONTRACT, str(tmp_path))
    orders = CONTRACT.samples(20, seed=5)
    log = PredictionLog(store, interval_s=60)
    log.record(rows_of(orders), [(5.0, "m/1")] * 20)
    log.close()
    broken = orders[[KEY, TARGET]].assign(**{TARGET: CONTRACT.target.maximum + 1})
    with pytest.raises(ContractViolation, match=TARGET):
        add_outcomes(store, broken, "late.csv")
    assert not list(tmp_path.glob("outcomes/*"))  # nothing half-written
    add_outcomes(store, orders[[KEY, TARGET]].head(15), "late.csv")
    joined = with_outcomes(store, CONTRACT, *window())
    assert joined[TARGET].notna().sum() == 15
    assert joined[TARGET].head(15).tolist() == orders[TARGET].head(15).tolist()


def test_a_key_beyond_a_floats_precision_keeps_its_outcome(tmp_path) -> None:
    """Beside a prediction without a key, keys were floats: 2**60 + 1 became 2**60."""
    store = FolderStore(CONTRACT, tmp_path)
    large = 2**60 + 1
    rows = [dict(CONTRACT.example, **{KEY: large}), dict(CONTRACT.example)]
    store.write([Entry(datetime.now(UTC), rows, [(1.0, "m/1"), (2.0, "m/1")])])
    store.add_outcomes(pd.DataFrame({KEY: [large], TARGET: [33.0]}))
    joined = with_outcomes(store, CONTRACT, *window())
    assert joined[KEY].tolist() == [large, pd.NA]
    assert joined[TARGET].tolist()[0] == 33.0


def test_the_service_logs_each_prediction_with_the_callers_key(model_dir, prediction_log):
    order = dict(CONTRACT.example) | {KEY: 424242}
    with TestClient(create_app(str(model_dir))) as client:
        answer = client.post("/predict", json=order)
        assert answer.status_code == 200
        assert client.post("/predict", json=CONTRACT.example).status_code == 200  # no key: fine
        counted = 'predicted_orders_total{model_name="'
        for _ in range(50):  # counted by the log's writer, which wakes every second
            if counted in client.get("/metrics").text:
                break
            time.sleep(0.1)
        assert counted in client.get("/metrics").text
    logged = open_store(CONTRACT, str(prediction_log)).predictions(*window())
    mine = logged[logged[KEY] == 424242]
    assert len(mine) == 1 and mine[PREDICTION].iloc[0] == answer.json()[TARGET][0]
    assert mine["model_version"].iloc[0] == "7"


@pytest.fixture(scope="module")
def reference(model_dir) -> pd.DataFrame:
    model = model_io.load_model(str(model_dir))
    table = CONTRACT.samples(3000, seed=11)
    return table.assign(**{PREDICTION: model.predict(table[CONTRACT.feature_names])})


def judge(live: pd.DataFrame, model_dir, reference: pd.DataFrame) -> dict:
    model = model_io.load_model(str(model_dir))
    live = live.assign(**{PREDICTION: model.predict(live[CONTRACT.feature_names])})
    errors = (reference[TARGET] - reference[PREDICTION]).abs()
    by_segment = errors.groupby(reference[BY]).mean().round(4).to_dict()
    baseline = {"prediction_mean": 0, "prediction_std": 1, "mae_by_segment": by_segment}
    mae = round(errors.mean(), 4)
    record = ChampionRecord("m", "1", "r", {"mae": mae}, "c", "f", "d", "", baseline=baseline)
    _, found = checks.evaluate(live, reference, record, USE_CASE, SETTINGS)
    return found


def test_a_window_like_the_training_data_raises_no_alarm(model_dir, reference) -> None:
    found = judge(CONTRACT.samples(3000, seed=12), model_dir, reference)
    assert not found["alarm"], found["failed"]


def test_a_moved_segment_is_named_with_its_features_and_errors(model_dir, reference) -> None:
    live = CONTRACT.samples(3000, seed=13)
    segment = str(live[BY].iloc[0])
    numeric = CONTRACT.numeric[0]
    here = live[BY] == segment
    feature = next(f for f in CONTRACT.features if f.name == numeric)
    live.loc[here, numeric] = feature.maximum  # every order of the segment at the top
    live.loc[here, TARGET] = CONTRACT.target.maximum  # and much later than predicted
    found = judge(live, model_dir, reference)
    assert found["alarm"]
    assert numeric in found["moved"]["features"]
    assert found["moved"]["segments"] == [segment]
    assert segment in found["moved"]["error"]
    assert any(f["check"] == "range" and f["column"] == numeric for f in found["failed"])
