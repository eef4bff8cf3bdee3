"""Micro-batching and the lean predict: shared model calls, bounded queues, the same answers."""

import asyncio
import time

import pytest
import yaml

from goldenpath.core import model_io
from goldenpath.core.modeling import build_model
from goldenpath.core.params import ModelParams
from goldenpath.serving.batching import MicroBatcher, Overloaded
from goldenpath.serving.model import load_served_model
from goldenpath.serving.predictor import TOLERANCE, lean_predictor

from .conftest import PROJECT
from .usecase import CONTRACT

MODEL_CONFIGS = sorted((PROJECT / "conf" / "model").glob("*.yaml"))


async def predict_concurrently(batcher: MicroBatcher, requests: list[list[dict]]) -> list:
    try:
        return await asyncio.gather(*(batcher.predict(rows) for rows in requests))
    finally:
        await batcher.close()


def served_predict(model_dir):
    return lean_predictor(load_served_model(str(model_dir), CONTRACT).predictor, CONTRACT).predict


def test_concurrent_requests_are_batched_and_answered_as_if_alone(model_dir, orders) -> None:
    predict = served_predict(model_dir)
    calls: list[int] = []

    def counted(rows):
        calls.append(len(rows))
        return predict(rows).tolist()

    rows = orders[CONTRACT.feature_names].head(120).to_dict(orient="records")
    requests = [[row] for row in rows[:100]] + [rows[100:120]]  # 100 single orders, one list
    batcher = MicroBatcher(counted, max_batch=32, max_wait_s=0.002, max_queued=1000)
    answers = asyncio.run(predict_concurrently(batcher, requests))
    alone = [predict(request).tolist() for request in requests]
    assert answers == alone
    assert max(calls) <= 32 and len(calls) < len(requests) / 4  # shared calls, bounded


def test_a_request_larger_than_a_batch_still_goes_through(model_dir, orders) -> None:
    predict = served_predict(model_dir)
    rows = orders[CONTRACT.feature_names].head(50).to_dict(orient="records")
    batcher = MicroBatcher(lambda r: predict(r).tolist(), 8, max_wait_s=0.001, max_queued=50)
    [answer] = asyncio.run(predict_concurrently(batcher, [rows]))
    assert answer == predict(rows).tolist()


def test_a_failing_model_call_fails_every_request_in_it() -> None:
    calls: list[int] = []

    def broken(rows):
        calls.append(len(rows))
        raise ValueError("model exploded")

    batcher = MicroBatcher(broken, max_batch=16, max_wait_s=0.001, max_queued=100)

    async def scenario() -> list:
        try:
            return await asyncio.gather(
                *(batcher.predict([{}]) for _ in range(5)), return_exceptions=True
            )
        finally:
            await batcher.close()

    errors = asyncio.run(scenario())
    assert all(isinstance(error, ValueError) for error in errors)
    assert sum(calls) == 5  # each order once: a broken model is not called again per request


def test_orders_beyond_the_bound_are_refused_at_once() -> None:
    """Up to `max_queued` orders wait for the model; a request that would exceed it is refused."""

    async def scenario() -> list:
        batcher = MicroBatcher(lambda rows: [1.0] * len(rows), 4, max_wait_s=0, max_queued=10)
        try:  # the requests queue up together: the model is called only once they are all in
            return await asyncio.gather(
                *(batcher.predict([{}] * 4) for _ in range(4)), return_exceptions=True
            )
        finally:
            await batcher.close()

    answers = asyncio.run(scenario())
    assert answers[:2] == [[1.0] * 4] * 2  # 8 orders waited
    assert all(isinstance(answer, Overloaded) for answer in answers[2:])  # 12 would exceed 10


def test_a_full_queue_says_so_before_a_request_is_read() -> None:
    async def scenario() -> list[bool]:
        batcher = MicroBatcher(lambda rows: [1.0] * len(rows), 4, max_wait_s=0, max_queued=8)
        seen = [batcher.overloaded]
        waiting = [asyncio.create_task(batcher.predict([{}] * 4)) for _ in range(2)]
        await asyncio.sleep(0)  # both are queued; the model has not been called yet
        seen.append(batcher.overloaded)
        await asyncio.gather(*waiting)
        seen.append(batcher.overloaded)
        await batcher.close()
        return seen

    assert asyncio.run(scenario()) == [False, True, False]


def test_a_slow_model_call_leaves_the_event_loop_free() -> None:
    def slow(rows):
        time.sleep(0.3)  # holds its thread, as a model call does
        return [2.0] * len(rows)

    async def scenario() -> tuple[list, float]:
        batcher = MicroBatcher(slow, 8, max_wait_s=0.001, max_queued=100, in_thread=True)
        try:
            prediction = asyncio.create_task(batcher.predict([{}]))
            await asyncio.sleep(0.05)  # the call is under way
            start = time.perf_counter()
            await asyncio.sleep(0.01)  # what a health check needs: the loop
            waited = time.perf_counter() - start
            return await prediction, waited
        finally:
            await batcher.close()

    answer, waited = asyncio.run(scenario())
    assert answer == [2.0] and waited < 0.15


def test_lean_predict_equals_the_pipeline(model_dir, orders) -> None:
    model = load_served_model(str(model_dir), CONTRACT).predictor
    lean = lean_predictor(model, CONTRACT)
    assert lean.lean  # the lean path was taken, not the fallback
    rows = orders[CONTRACT.feature_names].to_dict(orient="records")
    through_pipeline = model.predict(orders[CONTRACT.feature_names])
    assert lean.predict(rows) == pytest.approx(through_pipeline, abs=TOLERANCE, rel=0)
    assert model.predict(CONTRACT.frame(rows)).tolist() == through_pipeline.tolist()


@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("config", MODEL_CONFIGS, ids=lambda path: path.stem)
def test_every_model_config_is_served_on_one_thread_through_the_lean_path(
    config, log_target, orders
) -> None:
    params = ModelParams.model_validate(yaml.safe_load(config.read_text()))
    model = build_model(CONTRACT, params, log_target)
    model.fit(orders[CONTRACT.feature_names], orders[CONTRACT.target.name])
    served = model_io.single_threaded(model)
    threads = {k: v for k, v in served.get_params(deep=True).items() if k.endswith("n_jobs")}
    assert set(threads.values()) <= {1}
    lean = lean_predictor(served, CONTRACT)
    rows = orders[CONTRACT.feature_names].to_dict(orient="records")
    assert lean.lean
    assert lean.predict(rows) == pytest.approx(served.predict(CONTRACT.frame(rows)), abs=TOLERANCE)


def test_a_model_that_sums_in_parallel_takes_the_lean_path_too(orders) -> None:
    """A random forest that asks for every core (n_jobs: -1), as the template's does: its
    sums differ in the last bits from one call to the next, within the tolerance."""
    config = yaml.safe_load((PROJECT / "conf" / "model" / "random_forest.yaml").read_text())
    assert config["n_jobs"] == -1
    model = build_model(CONTRACT, ModelParams.model_validate(config))
    model.fit(orders[CONTRACT.feature_names], orders[CONTRACT.target.name])
    assert lean_predictor(model, CONTRACT).lean


@pytest.mark.parametrize("config", ["hist_gradient_boosting", "lightgbm"])
@pytest.mark.parametrize("log_target", [False, True])
def test_gradient_boosting_is_served_compiled(config, log_target, orders) -> None:
    """Their trees run in C++ (serving/compiled.py), predicting what the model predicts."""
    path = PROJECT / "conf" / "model" / f"{config}.yaml"
    params = ModelParams.model_validate(yaml.safe_load(path.read_text()))
    model = model_io.single_threaded(build_model(CONTRACT, params, log_target))
    model.fit(orders[CONTRACT.feature_names], orders[CONTRACT.target.name])
    predictor = lean_predictor(model, CONTRACT)
    assert predictor.compiled and predictor.how == "compiled"
    rows = orders[CONTRACT.feature_names].to_dict(orient="records")
    expected = model.predict(CONTRACT.frame(rows))
    assert predictor.predict(rows) == pytest.approx(expected, abs=TOLERANCE)


def test_any_other_model_is_served_through_its_own_predict() -> None:
    class Constant:
        def predict(self, frame):
            return frame[CONTRACT.feature_names[0]].to_numpy() * 0 + 7.0

    predictor = lean_predictor(Constant(), CONTRACT)
    assert not predictor.lean
    assert predictor.predict([CONTRACT.example, CONTRACT.example]).tolist() == [7.0, 7.0]
