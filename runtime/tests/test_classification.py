"""Classification through the pipeline: the task's metrics, baseline, plots and gate.

The runtime's own orders, labelled as two classifications (usecase.py): late or not
(binary, "yes" the positive class), and how late (multiclass).
"""

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.linear_model import LogisticRegression

from goldenpath import summary
from goldenpath.core import model_io, project
from goldenpath.core.champion import ChampionRecord
from goldenpath.core.fanout import SCHEDULER
from goldenpath.core.tasks import METRICS, Task, TaskMismatch
from goldenpath.jobs import compose as compose_stage
from goldenpath.jobs.score import score
from goldenpath.serving.app import create_app

from .conftest import forget_the_use_case
from .pipeline import SOURCE, compose, registry, run_pipeline
from .usecase import LATE_USE_CASE, LATENESS_USE_CASE

# The classifiers' model configs, in the workspace's conf/model/ only: the tests that take
# every config of tests/project/ fit them to the regression use case.
CLASSIFIERS = {
    "hist_gradient_boosting_classifier": (
        "_target_: sklearn.ensemble.HistGradientBoostingClassifier\n"
        "max_iter: 100\nmax_leaf_nodes: 15\nmin_samples_leaf: 20\nrandom_state: 0\n"
    ),
    "logistic_regression": "_target_: sklearn.linear_model.LogisticRegression\nmax_iter: 1000\n",
}
BINARY_METRICS = {"log_loss", "roc_auc", "pr_auc", "brier", "precision", "recall", "f1"}


@pytest.fixture
def classifying(workspace: Path, monkeypatch: pytest.MonkeyPatch, request):
    """The workspace, its use case and its table the classification `request.param` names."""
    name = {"binary": "LATE_USE_CASE", "multiclass": "LATENESS_USE_CASE"}[request.param]
    case = {"LATE_USE_CASE": LATE_USE_CASE, "LATENESS_USE_CASE": LATENESS_USE_CASE}[name]
    monkeypatch.setenv(project.OVERRIDE, f"tests.usecase:{name}")
    forget_the_use_case()
    case.example_data(1500, 1).to_parquet(SOURCE)
    for name, config in CLASSIFIERS.items():
        (workspace / "conf" / "model" / f"{name}.yaml").write_text(config)
    yield case
    forget_the_use_case()


CLASSIFIER = "model=hist_gradient_boosting_classifier"


@pytest.mark.parametrize("classifying", ["binary"], indirect=True)
def test_a_binary_classifier_beats_the_prior_and_is_gated_by_log_loss(
    classifying, monkeypatch, capsys
) -> None:
    first = run_pipeline(monkeypatch, CLASSIFIER)
    metrics = json.loads(Path("metrics.json").read_text())
    assert set(metrics["holdout"]) == BINARY_METRICS
    assert metrics["holdout"]["log_loss"] < 0.7 * metrics["baseline_log_loss"]
    assert metrics["holdout"]["roc_auc"] > 0.9
    assert first["metric"] == "log_loss" and first["promoted"]
    champion = ChampionRecord.read(Path("models/champion"))
    assert champion.metric == "log_loss" and set(champion.holdout) == BINARY_METRICS
    assert champion.holdout_mae is None  # no regression figure pretends to be one
    assert 0 < champion.baseline["prediction_mean"] < 1  # the mean probability of "yes"
    assert set(champion.baseline["log_loss_by_segment"]) == {"lisbon", "porto", "madrid"}
    tags = registry().client.get_model_version(registry().name, "1").tags
    assert tags["gate_metric"] == "log_loss" and float(tags["holdout_roc_auc"]) > 0.9
    plots = {path.name for path in Path("reports/plots").iterdir()}
    assert plots == {"log_loss_by_segment.csv", "calibration.csv", "roc.csv"}
    roc = pd.read_csv("reports/plots/roc.csv")
    assert roc["true_positive_rate"].is_monotonic_increasing

    # A model that learns less: it is the challenger, the champion stays.
    worse = run_pipeline(monkeypatch, CLASSIFIER, "model.max_iter=2")
    assert (
        not worse["promoted"]
        and worse["candidate"]["holdout_log_loss"] > (worse["champion_before"]["holdout_log_loss"])
    )
    assert str(registry().alias("challenger").version) == "2"
    assert ChampionRecord.read(Path("models/champion")).model_version == "1"
    summary.main()
    printed = capsys.readouterr().out
    assert re.search(r"Holdout log-loss: \d\.\d{3} ", printed)  # a log-loss's three places
    assert re.search(r"predicting the classes' frequencies \d\.\d{3}\)", printed)
    assert "-S model=logistic_regression   try another" in printed  # a classifier's config


@pytest.mark.parametrize("classifying", ["binary"], indirect=True)
def test_a_gate_on_roc_auc_prefers_the_higher(classifying, monkeypatch) -> None:
    run_pipeline(monkeypatch, CLASSIFIER, "model.max_iter=2", "promotion.metric=roc_auc")
    better = run_pipeline(monkeypatch, CLASSIFIER, "promotion.metric=roc_auc")
    assert better["metric"] == "roc_auc" and better["promoted"]
    assert better["candidate"]["holdout_roc_auc"] > better["champion_before"]["holdout_roc_auc"]
    assert ChampionRecord.read(Path("models/champion")).metric == "roc_auc"


@pytest.mark.parametrize("classifying", ["binary"], indirect=True)
def test_what_does_not_fit_the_task_is_refused_by_name(classifying, monkeypatch) -> None:
    with pytest.raises(TaskMismatch, match=r"promotion.metric: .mae. is not a binary metric"):
        run_pipeline(monkeypatch, CLASSIFIER, "promotion.metric=mae")
    with pytest.raises(
        TaskMismatch, match=r"Regressor' is not a classifier, .* a classifier's config"
    ):
        run_pipeline(monkeypatch)  # the default model: a regressor
    with pytest.raises(
        TaskMismatch, match=r"train.log_target is true, .* regression; set it false"
    ):
        run_pipeline(monkeypatch, CLASSIFIER, "train.log_target=true")


@pytest.mark.parametrize("classifying", ["binary"], indirect=True)
def test_the_first_stage_refuses_a_model_that_does_not_fit_the_task(
    classifying, monkeypatch
) -> None:
    """Before any data is read: `dvc exp run -S` composed params.yaml, compose checks it."""
    compose(CLASSIFIER, "promotion.metric=r2")
    monkeypatch.setenv("DVC_EXP_NAME", "a-regression-metric")
    with pytest.raises(TaskMismatch, match=r".r2. is not a binary metric; give one of"):
        compose_stage.main()
    compose(CLASSIFIER)
    compose_stage.main()  # fits: nothing to say
    assert not Path("data/raw").exists()


@pytest.mark.parametrize("classifying", ["multiclass"], indirect=True)
def test_a_multiclass_classifier_scores_every_class(classifying, monkeypatch) -> None:
    decision = run_pipeline(monkeypatch, "model=logistic_regression")
    metrics = json.loads(Path("metrics.json").read_text())
    assert set(metrics["holdout"]) == {"log_loss", "macro_f1", "accuracy"}
    assert metrics["holdout"]["log_loss"] < 0.8 * metrics["baseline_log_loss"]
    assert decision["promoted"] and decision["metric"] == "log_loss"
    assert {path.name for path in Path("reports/plots").iterdir()} == {
        "log_loss_by_segment.csv",
        "calibration.csv",
    }
    # Scores come in the contract's order of classes, whatever order the model learnt.
    model = model_io.load_model("models/champion")
    task = Task("multiclass", ("early", "on_time", "late"))
    rows = classifying.example_data(200, 7)
    scores = task.scores(model, rows[classifying.contract.feature_names])
    assert scores.shape == (200, 3) and np.allclose(scores.sum(axis=1), 1)
    assert list(model.classes_) == ["early", "late", "on_time"]  # sorted, not the contract's
    assert (task.decide(scores) == model.predict(rows[classifying.contract.feature_names])).all()


def test_a_class_the_training_rows_lack_scores_zero() -> None:
    class TwoClasses:  # learnt from rows without "on_time"
        classes_ = np.array(["early", "late"])

        def predict_proba(self, rows):
            return np.tile([0.25, 0.75], (len(rows), 1))

    scores = Task("multiclass", ("early", "on_time", "late")).scores(TwoClasses(), [1, 2])
    assert scores.tolist() == [[0.25, 0.0, 0.75]] * 2


@pytest.mark.parametrize(
    ("metric", "new", "old", "margin", "better"),
    [
        ("mae", 0.98, 1.0, 0.01, True),
        ("mae", 0.995, 1.0, 0.01, False),
        ("roc_auc", 0.90, 0.85, 0.01, True),
        ("roc_auc", 0.855, 0.85, 0.01, False),
        ("r2", -0.5, -1.0, 0.01, True),  # a negative figure: the margin is of its size
    ],
)
def test_better_is_the_metrics_own_direction(metric, new, old, margin, better) -> None:
    assert METRICS[metric].better(new, old, margin) is better


def test_a_binary_decision_takes_the_threshold() -> None:
    scores = np.array([0.2, 0.5, 0.7])
    assert Task("binary", ("no", "yes")).decide(scores).tolist() == ["no", "yes", "yes"]
    assert Task("binary", ("no", "yes"), 0.6).decide(scores).tolist() == ["no", "no", "yes"]
    actual = pd.Series(["no", "yes", "yes"])
    at_06 = Task("binary", ("no", "yes"), 0.6).metrics(actual, scores)
    assert at_06["recall"] == 0.5 and at_06["precision"] == 1.0


def test_a_regression_takes_any_estimator_but_a_classifier() -> None:
    class Plain:  # a team's own: no scikit-learn mixin, no tags
        def fit(self, rows, target):
            return self

        def predict(self, rows):
            return np.zeros(len(rows))

    plain = Plain()
    assert Task("regression").wrap(plain, False, "mine.Plain") is plain
    with pytest.raises(TaskMismatch, match=r"'sklearn.linear_model.LogisticRegression' is not a"):
        Task("regression").wrap(
            LogisticRegression(), False, "sklearn.linear_model.LogisticRegression"
        )


@pytest.mark.parametrize("classifying", ["binary"], indirect=True)
def test_per_city_classifiers_are_judged_by_the_gates_metric(
    classifying, monkeypatch, dask_cluster
) -> None:
    monkeypatch.setenv(SCHEDULER, dask_cluster)
    decision = run_pipeline(monkeypatch, CLASSIFIER, "segment=per_city", "segment.min_rows=50")
    metrics = json.loads(Path("metrics.json").read_text())["segments"]
    assert set(decision["segments"]) == {"lisbon", "porto", "madrid"}
    for city, gated in decision["segments"].items():
        assert gated["metric"] == "log_loss" and gated["promoted"]
        own, overall = gated["champion_score"], gated["global_champion_log_loss"]
        assert gated["serves"] == (own < overall)  # lower is better
        figures = metrics[city]
        assert figures["own_model_wins"] == (figures["own_log_loss"] < figures["global_log_loss"])


def served_answers(case, rows: pd.DataFrame) -> tuple[dict, dict, dict]:
    """The service's answer for `rows`, its /version and its OpenAPI document."""
    orders = case.contract.requests(rows)
    with TestClient(create_app("models/champion", case)) as client:
        answer = client.post("/predict", json=orders)
        assert answer.status_code == 200, answer.text
        return answer.json(), client.get("/version").json(), client.get("/openapi.json").json()


@pytest.mark.parametrize("classifying", ["binary"], indirect=True)
def test_a_binary_classifier_serves_its_class_and_probabilities_as_it_scores_them(
    classifying, monkeypatch, tmp_path
) -> None:
    run_pipeline(monkeypatch, CLASSIFIER, "train.threshold=0.3")
    contract, target = classifying.contract, classifying.contract.target.name
    rows = classifying.example_data(300, 11)
    answer, version, schema = served_answers(classifying, rows)

    # Each order's probabilities, every class's, are the model's own, rounded to 4 places.
    model = model_io.load_model("models/champion")
    expected = model.predict_proba(rows[contract.feature_names])[
        :, list(model.classes_).index("yes")
    ]
    served = np.array([order["yes"] for order in answer["probabilities"]])
    assert np.abs(served - expected).max() <= 5e-5
    assert all(round(p["no"] + p["yes"], 4) == 1 for p in answer["probabilities"])
    # The class is decided at the configured threshold, not at 0.5.
    assert answer[target] == np.where(served >= 0.3, "yes", "no").tolist()
    assert version["threshold"] == 0.3 and version["prediction_path"] == "compiled"
    assert "equal to the pipeline's predictions" in version["prediction_path_reason"]
    answers = schema["components"]["schemas"]["Predictions"]["properties"]
    assert answers[target]["items"]["enum"] == ["no", "yes"]
    by_class = schema["components"]["schemas"]["Probabilities"]
    assert set(by_class["properties"]) == set(by_class["required"]) == {"no", "yes"}

    # Batch scoring answers as the service does: the class, and each class's probability.
    source = tmp_path / "orders.parquet"
    rows.drop(columns=target).to_parquet(source)
    score(source, tmp_path / "scores.parquet", "models/champion")
    scores = pd.read_parquet(tmp_path / "scores.parquet")
    assert scores["prediction"].tolist() == answer[target]
    assert scores["probability_yes"].tolist() == served.tolist()
    assert list(scores.columns) == [
        contract.key, "prediction", "probability_no", "probability_yes", "model_name",
        "model_version",
    ]  # fmt: skip

    # A new threshold is the champion's next decision, even when no new model wins.
    decision = run_pipeline(monkeypatch, CLASSIFIER, "train.threshold=0.7")
    assert not decision["promoted"]
    answer, version, _ = served_answers(classifying, rows)
    assert version["threshold"] == 0.7 and version["model_version"] == "1"
    assert answer[target] == np.where(served >= 0.7, "yes", "no").tolist()
    tags = registry().client.get_model_version(registry().name, "2").tags
    assert tags["threshold"] == "0.7"


@pytest.mark.parametrize("classifying", ["multiclass"], indirect=True)
def test_a_multiclass_classifier_serves_the_most_probable_class(
    classifying, monkeypatch, tmp_path
) -> None:
    run_pipeline(monkeypatch, "model=logistic_regression")
    contract, target = classifying.contract, classifying.contract.target.name
    rows = classifying.example_data(200, 5)
    answer, version, _ = served_answers(classifying, rows)
    model = model_io.load_model("models/champion")
    assert answer[target] == model.predict(rows[contract.feature_names]).tolist()
    assert [list(p) for p in answer["probabilities"]] == [["early", "on_time", "late"]] * 200
    assert version["prediction_path"] == "lean" and version["threshold"] is None
    source = tmp_path / "orders.csv"
    rows.drop(columns=target).to_csv(source, index=False)
    score(source, tmp_path / "scores.parquet", "models/champion")
    scores = pd.read_parquet(tmp_path / "scores.parquet")
    assert scores["prediction"].tolist() == answer[target]
    assert scores["probability_late"].tolist() == [p["late"] for p in answer["probabilities"]]


@pytest.mark.parametrize(
    "kind",
    [
        "GradientBoostingClassifier",
        "RandomForestClassifier",
        "HistGradientBoostingClassifier",
        "ExtraTreesClassifier",
    ],
)
@pytest.mark.parametrize("classes", [2, 3])
def test_compiled_classifiers_give_the_models_probabilities(kind, classes) -> None:
    from sklearn import ensemble

    from goldenpath.serving.compiled import compile_trees

    rng = np.random.default_rng(0)
    features = rng.normal(size=(400, 5))
    labels = np.digitize(features[:, 0] + features[:, 1], [-0.5, 0.5][: classes - 1])
    model = getattr(ensemble, kind)(random_state=0).fit(features, labels)
    probabilities = compile_trees(model)(features)
    assert probabilities.shape == (400, classes)
    assert np.abs(probabilities - model.predict_proba(features)).max() < 1e-6


@pytest.mark.parametrize("classifying", ["binary", "multiclass"], indirect=True)
def test_the_monitor_judges_a_classifiers_live_log_loss_and_shows_its_auc_or_accuracy(
    classifying, monkeypatch, workspace
) -> None:
    """A binary classifier's log holds its probability of "yes"; a multiclass one's, that
    of its most likely class and every class's: the monitor judges either's log-loss."""
    from dataclasses import replace

    from dvc.repo import Repo

    from goldenpath.monitoring import monitor, outcomes
    from goldenpath.monitoring.store import PREDICTION, PROBABILITIES, open_store, with_outcomes

    monkeypatch.setenv("PREDICTION_LOG", str(workspace / "logs"))  # this test's alone
    # A holdout large enough for a steady log-loss by city (300 rows of 1,500 are not:
    # another week of the same orders scores 0.8 to 1.8 times theirs).
    classifying.example_data(6000, 1).to_parquet(SOURCE)
    run_pipeline(monkeypatch, CLASSIFIER)
    champion = ChampionRecord.read(Path("models/champion"))
    # The training split in the DVC cache, as `dvc repro` leaves it: the monitor's reference.
    cached = Path(Repo.init(no_scm=True).cache.local.oid_to_path(champion.data_md5))
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(Path("data/split/train.parquet").read_bytes())
    contract, target = classifying.contract, classifying.contract.target.name
    week = classifying.example_data(3000, 21).assign(**{contract.key: range(1, 3001)})
    start = datetime.now(UTC) - timedelta(minutes=1)
    with TestClient(create_app("models/champion", classifying)) as client:
        for chunk in range(0, 3000, 1000):
            orders = contract.requests(week.iloc[chunk : chunk + 1000], keyed=True)
            assert client.post("/predict", json=orders).status_code == 200
    store = open_store(contract)
    outcomes.add_outcomes(store, week[[contract.key, target]], "delivered.csv")
    end = datetime.now(UTC) + timedelta(minutes=1)
    logged = with_outcomes(store, contract, start, end)
    assert logged[target].tolist() == week[target].tolist()  # the classes, as reported
    assert logged[PREDICTION].between(0, 1).all()  # a probability
    multiclass = contract.task == "multiclass"
    if multiclass:  # every class's, in the contract's order, the headline their largest
        probabilities = np.array(logged[PROBABILITIES].tolist())
        assert probabilities.shape == (3000, 3)
        assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-3)
        assert np.array_equal(probabilities.max(axis=1), logged[PREDICTION].to_numpy())

    settings = monitor.parse_params(monitor.compose_params()).monitor
    summary, _ = monitor.run(settings, start, end)
    assert not summary["alarm"], summary["failed"]
    assert summary["model"]["holdout_log_loss"] == champion.holdout["log_loss"]
    figure = "accuracy" if multiclass else "roc_auc"
    assert abs(summary["window"][f"live_{figure}"] - champion.holdout[figure]) < 0.05
    # Judged against a holdout log-loss the live one is far above: the error check fails.
    low = {"log_loss": champion.holdout["log_loss"] / 3}
    replace(champion, holdout=champion.holdout | low).write(Path("models/champion"))
    summary, _ = monitor.run(settings, start, end)
    assert summary["alarm"] and "overall" in summary["moved"]["error"]
    assert ("live accuracy" if multiclass else "live ROC AUC") in monitor.page.text(summary)
    assert any(f["column"] == "log_loss" for f in summary["failed"])
