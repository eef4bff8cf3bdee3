"""Stage `evaluate`: holdout metrics against a baseline that learnt nothing, by segment, plots.

The metrics are the task's (core/tasks.py); the baseline predicts the training mean,
or the classes' training frequencies. By segment: the global model's figure (the
promotion gate's metric) on each segment's holdout rows, and with `segment.per_segment`
the segment's own model's, and which of the two wins there. Plots: a regression's
predicted-against-actual; a classifier's calibration and ROC curves.
"""

import json

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_curve

from ..core import model_io, segments
from ..core.params import load_params
from ..core.problems import report_problems
from ..core.project import use_case
from ..core.tasks import LABELS, METRICS, Task, gate_metric, task_of
from ..core.tracking import configure_tracking, log_to_run
from ..io.tables import read_table, write_table
from . import stage_paths

PLOTTED_PREDICTIONS = 1000
CALIBRATION_BINS = 10


def main() -> None:
    paths = stage_paths("trained", "split_dir", "metrics", "plots_dir")
    params, case = load_params(), use_case()
    contract = case.contract
    task = task_of(contract, params.train.threshold)
    metric = gate_metric(task, params.promotion.metric)
    target, by = contract.target.name, case.segment
    train = read_table(paths.split_dir / "train.parquet")
    holdout = read_table(paths.split_dir / "holdout.parquet")
    model = model_io.load_model(str(paths.trained / "model"))
    run = json.loads((paths.trained / "run.json").read_text())

    scores = task.scores(model, holdout[contract.feature_names])
    baseline = task.baseline(train[target], len(holdout))
    by_segment = {}
    for value, rows in holdout.groupby(by, observed=True, sort=True).indices.items():
        actual = holdout[target].iloc[rows]
        figures = {"rows": len(rows), f"global_{metric}": task.metric(metric, actual, scores[rows])}
        if str(value) in run["segments"]:
            own = model_io.load_model(str(paths.trained / segments.FOLDER / segments.key(value)))
            own_scores = task.scores(own, holdout[contract.feature_names].iloc[rows])
            figures[f"own_{metric}"] = task.metric(metric, actual, own_scores)
            figures["own_model_wins"] = METRICS[metric].better(
                round(figures[f"own_{metric}"], 4), round(figures[f"global_{metric}"], 4)
            )
        by_segment[str(value)] = {
            name: round(figure, 4) if isinstance(figure, float) else figure
            for name, figure in figures.items()
        }
    metrics = {
        "holdout": task.metrics(holdout[target], scores),
        f"baseline_{metric}": task.metric(metric, holdout[target], baseline),
        "segments": by_segment,
    }
    paths.metrics.write_text(json.dumps(metrics, indent=2) + "\n")
    table = pd.DataFrame.from_dict(by_segment, orient="index")
    table = table.rename(columns={f"global_{metric}": metric})
    table = table.reindex(columns=[metric, f"own_{metric}", "rows"])
    table = table.rename_axis("segment").reset_index()
    write_table(table, paths.plots_dir / f"{metric}_by_segment.csv")
    for name, plot in _plots(task, holdout[target], scores).items():
        write_table(plot, paths.plots_dir / name)

    configure_tracking(case.experiment)
    logged = {f"holdout_{name}": value for name, value in metrics["holdout"].items()}
    logged |= {f"baseline_{metric}": metrics[f"baseline_{metric}"]}
    for value, figures in by_segment.items():
        logged[f"holdout_{metric}_{segments.key(value)}"] = figures[f"global_{metric}"]
        if f"own_{metric}" in figures:
            logged[f"holdout_{metric}_{segments.key(value)}_own"] = figures[f"own_{metric}"]
    log_to_run(run["run_id"], logged)
    figure, against = metrics["holdout"][metric], metrics[f"baseline_{metric}"]
    learnt_nothing = "the classes' frequencies" if task.is_classification else "the mean"
    print(
        f"holdout {LABELS[metric]} {figure:.3f}, predicting {learnt_nothing} {against:.3f}:"
        f" {paths.metrics}"
    )


def _plots(task: Task, actual: pd.Series, scores: np.ndarray) -> dict[str, pd.DataFrame]:
    """A regression's predicted against actual; a binary classifier's calibration and ROC
    curves; a multiclass classifier's calibration of its most likely class."""
    if not task.is_classification:
        shown = slice(0, PLOTTED_PREDICTIONS)
        scatter = {"actual": actual.iloc[shown], "predicted": np.round(scores[shown], 2)}
        return {"predicted_vs_actual.csv": pd.DataFrame(scatter)}
    if task.name == "binary":
        hit, confidence = (actual.to_numpy() == task.classes[-1]), scores
    else:
        hit = actual.to_numpy() == task.decide(scores)
        confidence = scores.max(axis=1)
    observed, predicted = calibration_curve(hit, confidence, n_bins=CALIBRATION_BINS)
    plots = {"calibration.csv": pd.DataFrame({"predicted": predicted, "observed": observed})}
    if task.name == "binary" and 0 < hit.sum() < len(hit):
        false_positives, true_positives, _ = roc_curve(hit, scores)
        rates = {"false_positive_rate": false_positives, "true_positive_rate": true_positives}
        plots["roc.csv"] = pd.DataFrame(rates).round(4)
    return plots


if __name__ == "__main__":
    report_problems(main)
