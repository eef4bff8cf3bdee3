"""Stage `evaluate`: holdout metrics against a predict-the-mean baseline, by segment, plots."""

import json

import numpy as np
import pandas as pd

from ..core import model_io
from ..core.modeling import mae_by, regression_metrics
from ..core.problems import report_problems
from ..core.tracking import configure_tracking, log_to_run
from ..io.tables import read_table, write_table
from ..usecase import USE_CASE
from . import stage_paths

PLOTTED_PREDICTIONS = 1000


def main() -> None:
    paths = stage_paths("trained", "split_dir", "metrics", "plots_dir")
    contract = USE_CASE.contract
    target, by = contract.target.name, USE_CASE.segment
    train = read_table(paths.split_dir / "train.parquet")
    holdout = read_table(paths.split_dir / "holdout.parquet")
    model = model_io.load_model(str(paths.trained / "model"))

    predicted = model.predict(holdout[contract.feature_names])
    baseline = np.full(len(holdout), train[target].mean())
    per_segment = mae_by(holdout, predicted, by, target).rename(columns={by: "segment"})
    metrics = {
        "holdout": regression_metrics(holdout[target], predicted),
        "baseline_mae": regression_metrics(holdout[target], baseline)["mae"],
        "mae_by_segment": dict(zip(per_segment["segment"], per_segment["mae"], strict=True)),
    }
    paths.metrics.write_text(json.dumps(metrics, indent=2) + "\n")
    write_table(per_segment, paths.plots_dir / "mae_by_segment.csv")
    shown = slice(0, PLOTTED_PREDICTIONS)
    scatter = {"actual": holdout[target].iloc[shown], "predicted": predicted[shown].round(2)}
    write_table(pd.DataFrame(scatter), paths.plots_dir / "predicted_vs_actual.csv")

    configure_tracking(USE_CASE.experiment)
    run_id = json.loads((paths.trained / "run.json").read_text())["run_id"]
    logged = {f"holdout_{k}": v for k, v in metrics["holdout"].items()}
    logged |= {"baseline_mae": metrics["baseline_mae"]}
    logged |= {f"holdout_mae_{name}": mae for name, mae in metrics["mae_by_segment"].items()}
    log_to_run(run_id, logged)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    report_problems(main)
