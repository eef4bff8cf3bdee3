"""The late-delivery classifier, baked with every answer that is not the default, the whole way.

copier's bake on Python 3.12 of `example=late_delivery`: its setup, its own tests, the
pipeline (a champion gated by log-loss), the service answering each class's probability,
`make score`, `make monitor` on a normal then a changed week, and an edit to its feature
code refused until a model is trained with it. Once, shared. Its contract has the
real-world kinds of feature: a nullable one (`prep_time_min`), a 2,000-value id
(`restaurant_id`), a time (`ordered_at`), a bool (`priority`) and a derived one
(`ride_minutes`, features.py).
"""

import json
import re
from pathlib import Path

import pytest

from .conftest import copier_cli, require_python, run
from .test_copier import VARIANTS
from .test_monitoring import window
from .test_service import Service

pytestmark = pytest.mark.slow
CUSTOM = VARIANTS["custom"]
CLASSES = ["no", "yes"]


@pytest.fixture(scope="module")
def late(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The custom answers' project after `make setup test repro smoke`."""
    assert CUSTOM["example"] == "late_delivery" and CUSTOM["python_version"] == "3.12"
    require_python("3.12")
    project = tmp_path_factory.mktemp("custom") / "ride-demand"
    result = copier_cli(project, **CUSTOM)
    assert result.returncode == 0, result.stdout + result.stderr
    run("make setup test repro smoke", project)
    return project


def test_the_bake_runs_on_python_3_12_and_its_champion_is_gated_by_log_loss(late) -> None:
    version = run(".venv/bin/python -c 'import sys; print(sys.version[:4])'", late).stdout
    assert version == "3.12\n"
    registration = json.loads((late / "reports" / "registration.json").read_text())
    assert registration["promoted"] and registration["metric"] == "log_loss", registration
    metrics = json.loads((late / "metrics.json").read_text())
    assert metrics["holdout"]["log_loss"] < 0.5 * metrics["baseline_log_loss"], metrics
    assert metrics["holdout"]["roc_auc"] > 0.9, metrics
    plots = {path.name for path in (late / "reports" / "plots").iterdir()}
    assert plots == {"log_loss_by_segment.csv", "calibration.csv", "roc.csv"}
    shown = run("uv run --frozen dvc plots show --json", late).stdout  # dvc.yaml's plots
    assert all(name in shown for name in plots), shown[:2000]
    summary = run("make summary", late).stdout
    assert re.search(r"Holdout log-loss: \d\.\d\d\d", summary), summary


def test_the_service_answers_the_class_and_each_class_probability(late) -> None:
    order = json.loads(run("make -s example", late).stdout)
    service = Service(late).wait_ready()
    try:
        # prep_time_min is nullable: null, or left out, is a missing value the model knows.
        unannounced = {k: v for k, v in order.items() if k != "prep_time_min"}
        at_night = order | {"ordered_at": "2026-03-06T03:15:00+01:00"}  # an offset: in UTC
        priority = order | {"priority": True}  # a bool: JSON's true or false
        orders = [order, at_night, order | {"prep_time_min": None}, unannounced, priority]
        status, _, body = service.request("POST", "/predict", orders)
        assert status == 200, body
        answer = json.loads(body)
        assert set(answer["late"]) <= set(CLASSES) and len(answer["late"]) == 5
        assert answer["probabilities"][2] == answer["probabilities"][3]
        assert answer["probabilities"][2] != answer["probabilities"][0]
        assert answer["probabilities"][1] != answer["probabilities"][0]  # its hour is learnt
        late = [p["yes"] for p in answer["probabilities"]]
        assert late[4] < late[0]  # the first free courier: less often late
        refused = order | {"ordered_at": "yesterday", "restaurant_id": 42, "priority": 1}
        status, _, body = service.request("POST", "/predict", refused)
        assert status == 422 and b"ordered_at" in body and b"restaurant_id" in body, body
        assert b"priority" in body, body
        for probabilities in answer["probabilities"]:
            assert list(probabilities) == CLASSES
            assert abs(sum(probabilities.values()) - 1) < 1e-3
        _, _, document = service.request("GET", "/openapi.json")
        schemas = json.loads(document)["components"]["schemas"]
        assert schemas["Probabilities"]["required"] == CLASSES
        _, _, version = service.request("GET", "/version")
        assert json.loads(version)["threshold"] == 0.5
    finally:
        assert service.stop()


SCORE_INPUT = """\
import sys
import pandas as pd
rows = pd.read_parquet("data/split/holdout.parquet", use_threads=False).head(300)
assert rows["prep_time_min"].isna().any()  # scored too: the feature is nullable
bad = rows.head(1).assign(city="atlantis")
pd.concat([rows, bad]).drop(columns="late").to_parquet(sys.argv[1])
"""


def test_make_score_writes_the_class_and_its_probabilities(late, tmp_path) -> None:
    orders, scores = tmp_path / "orders.parquet", tmp_path / "scores.parquet"
    run(f"uv run --frozen python - {orders} <<'EOF'\n{SCORE_INPUT}EOF", late)
    done = run(f"make score INPUT={orders} OUTPUT={scores}", late).stdout
    assert "Scored 300 of 301 rows" in done, done
    check = (
        "import pandas as pd, sys; s = pd.read_parquet(sys.argv[1], use_threads=False); "
        "print(s.columns.tolist(), sorted(s.prediction.unique()) <= ['no', 'yes'], "
        "((s.probability_no + s.probability_yes - 1).abs() < 1e-3).all())"
    )
    shown = run(f'uv run --frozen python -c "{check}" {scores}', late).stdout.strip()
    columns = ["order_id", "prediction", "probability_no", "probability_yes", "model_name"]
    assert shown == f"{[*columns, 'model_version']} True True", shown


def test_monitoring_is_silent_on_a_normal_week_and_names_porto_on_a_changed_one(late) -> None:
    service = Service(late).wait_ready()
    url = f"http://127.0.0.1:{service.port}"
    results = {}
    try:
        for week in ("normal", "changed"):
            replayed = run(f"make simulate WEEK={week} URL={url}", late).stdout
            results[week] = run(f"make monitor ARGS='{window(replayed)}'", late, check=False)
            summary = late / "reports" / "monitoring" / "summary.json"
            results[week] = (results[week], json.loads(summary.read_text()))
    finally:
        assert service.stop()
    normal, summary = results["normal"]
    assert normal.returncode == 0, normal.stdout + normal.stderr
    assert not summary["alarm"] and summary["window"]["with_outcomes"] == 10_000
    changed, summary = results["changed"]
    assert changed.returncode != 0, changed.stdout + changed.stderr
    assert summary["moved"]["segments"] == ["porto"], summary["moved"]
    assert "porto" in summary["moved"]["error"], summary["moved"]
    assert summary["model"]["holdout_log_loss"] > 0 and summary["window"]["live_roc_auc"] > 0.5
    in_porto = {f["column"] for f in summary["failed"] if f["segment"] == "porto"}
    assert {"weather", "courier_load", "log_loss"} <= in_porto, in_porto


def test_an_edit_to_the_feature_code_is_refused_until_a_model_is_trained_with_it(
    late, tmp_path
) -> None:
    """features.py is the model's: the service and make score refuse a champion trained with
    another version of it, and dvc knows the model must be trained again."""
    [code] = late.glob("src/*/features.py")
    original = code.read_text()
    orders, scores = tmp_path / "orders.parquet", tmp_path / "scores.parquet"
    run(f"uv run --frozen python - {orders} <<'EOF'\n{SCORE_INPUT}EOF", late)
    code.write_text(original.replace('"rain": 15.0', '"rain": 13.0'))
    try:
        assert "features.py" in run("uv run --frozen dvc status train", late).stdout
        refused = run(f"make score INPUT={orders} OUTPUT={scores}", late, check=False)
        assert refused.returncode != 0 and not scores.exists()
        assert "another version of the feature code" in refused.stdout + refused.stderr
        assert "Warning:" in (summary := run("make summary", late).stdout), summary
        assert "make repro" in summary.split("Warning:")[1]
    finally:
        code.write_text(original)
    assert "features.py" not in run("uv run --frozen dvc status train", late).stdout
