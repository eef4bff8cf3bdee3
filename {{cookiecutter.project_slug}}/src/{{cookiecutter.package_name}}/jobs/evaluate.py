"""Stage `evaluate`: holdout metrics against a predict-the-mean baseline, per city, plots."""

import json

import mlflow
import numpy as np

from ..contract import FEATURE_NAMES, TARGET
from ..modeling import mae_by, regression_metrics
from ..params import load_params
from ..tracking import configure_tracking
from . import read_orders, stage_paths, write_table

PLOTTED_PREDICTIONS = 1000


def main() -> None:
    paths = stage_paths("models", "split_dir", "metrics", "plots_dir")
    train = read_orders(paths.split_dir / "train.csv")
    holdout = read_orders(paths.split_dir / "holdout.csv")
    model = mlflow.sklearn.load_model(str(paths.models / "model"))

    predicted = model.predict(holdout[FEATURE_NAMES])
    actual = holdout[TARGET.name]
    baseline = np.full(len(holdout), train[TARGET.name].mean())
    metrics = {
        "holdout": regression_metrics(actual, predicted),
        "baseline_mae": regression_metrics(actual, baseline)["mae"],
    }
    paths.metrics.write_text(json.dumps(metrics, indent=2) + "\n")

    per_city = mae_by(holdout, predicted, "city", TARGET.name)
    write_table(per_city, paths.plots_dir / "mae_by_city.csv")
    shown = holdout.head(PLOTTED_PREDICTIONS)
    scatter = shown[[TARGET.name]].assign(predicted=predicted[: len(shown)].round(2))
    write_table(scatter, paths.plots_dir / "predicted_vs_actual.csv")

    run_id = json.loads((paths.models / "run.json").read_text())["run_id"]
    configure_tracking(load_params()["mlflow"]["experiment"])
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics({f"holdout_{k}": v for k, v in metrics["holdout"].items()})
        mlflow.log_metric("baseline_mae", metrics["baseline_mae"])
        mlflow.log_metrics({f"holdout_mae_{r.city}": r.mae for r in per_city.itertuples()})
        mlflow.log_table(per_city, "evaluation/mae_by_city.json")
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
