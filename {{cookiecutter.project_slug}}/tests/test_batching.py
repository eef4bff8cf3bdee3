"""Micro-batching: concurrent requests share model calls and get their own answers."""

import asyncio

from {{ cookiecutter.package_name }}.serving.batching import MicroBatcher
from {{ cookiecutter.package_name }}.serving.model import load_served_model
from {{ cookiecutter.package_name }}.serving.predictor import lean_predictor

from .conftest import CONTRACT


async def predict_concurrently(batcher: MicroBatcher, requests: list[list[dict]]) -> list:
    try:
        return await asyncio.gather(*(batcher.predict(rows) for rows in requests))
    finally:
        await batcher.close()


def test_concurrent_requests_are_batched_and_answered_as_if_alone(model_dir, orders) -> None:
    predict = lean_predictor(load_served_model(str(model_dir), CONTRACT).predictor, CONTRACT)
    calls: list[int] = []

    def counted(rows):
        calls.append(len(rows))
        return predict(rows).tolist()

    rows = orders[CONTRACT.feature_names].head(120).to_dict(orient="records")
    requests = [[row] for row in rows[:100]] + [rows[100:120]]  # 100 single orders, one list
    batcher = MicroBatcher(counted, max_batch=32, max_wait_s=0.002)
    answers = asyncio.run(predict_concurrently(batcher, requests))
    alone = [predict(request).tolist() for request in requests]
    assert answers == alone
    assert max(calls) <= 32 and len(calls) < len(requests) / 4  # shared calls, bounded


def test_a_request_larger_than_a_batch_still_goes_through(model_dir, orders) -> None:
    predict = lean_predictor(load_served_model(str(model_dir), CONTRACT).predictor, CONTRACT)
    rows = orders[CONTRACT.feature_names].head(50).to_dict(orient="records")
    batcher = MicroBatcher(lambda r: predict(r).tolist(), max_batch=8, max_wait_s=0.001)
    [answer] = asyncio.run(predict_concurrently(batcher, [rows]))
    assert answer == predict(rows).tolist()


def test_a_failing_model_call_fails_every_request_in_it() -> None:
    def broken(rows):
        raise ValueError("model exploded")

    batcher = MicroBatcher(broken, max_batch=16, max_wait_s=0.001)

    async def scenario() -> list:
        try:
            return await asyncio.gather(
                *(batcher.predict([{}]) for _ in range(5)), return_exceptions=True
            )
        finally:
            await batcher.close()

    errors = asyncio.run(scenario())
    assert all(isinstance(error, ValueError) for error in errors)


def test_lean_predict_equals_the_pipeline(model_dir, orders) -> None:
    model = load_served_model(str(model_dir), CONTRACT).predictor
    lean = lean_predictor(model, CONTRACT)
    assert lean.__name__ == "predict"  # the lean path was taken, not the fallback
    rows = orders[CONTRACT.feature_names].to_dict(orient="records")
    assert lean(rows).tolist() == model.predict(CONTRACT.frame(rows)).tolist()
    assert lean(rows).tolist() == model.predict(orders[CONTRACT.feature_names]).tolist()


def test_any_other_model_is_served_through_its_own_predict() -> None:
    class Constant:
        def predict(self, frame):
            return frame[CONTRACT.feature_names[0]].to_numpy() * 0 + 7.0

    predict = lean_predictor(Constant(), CONTRACT)
    assert predict.__name__ == "through_pipeline"
    assert predict([CONTRACT.example, CONTRACT.example]).tolist() == [7.0, 7.0]
