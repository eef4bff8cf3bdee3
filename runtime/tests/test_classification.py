"""Classification through the pipeline: the task's metrics, baseline, plots and gate.

The runtime's own orders, labelled as two classifications (usecase.py): late or not
(binary, "yes" the positive class), and how late (multiclass).
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from goldenpath import summary
from goldenpath.core import model_io, project
from goldenpath.core.champion import ChampionRecord
from goldenpath.core.fanout import SCHEDULER
from goldenpath.core.tasks import METRICS, Task, TaskMismatch
from goldenpath.jobs import compose as compose_stage
from goldenpath.serving.model import ModelUnavailable, load_served_set

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
    assert "Holdout log-loss: " in printed and "predicting the classes' frequencies" in printed
    # Not served yet: the service and `make score` say so, in one line.
    with pytest.raises(ModelUnavailable, match=r"a binary classification .* serves and scores"):
        load_served_set("models/champion", classifying.contract)


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
