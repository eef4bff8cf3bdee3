"""Stage `evaluate`: holdout metrics against a predict-the-mean baseline, by segment, plots.

By segment: the global model's MAE on each segment's holdout rows, and with
`segment.per_segment` the segment's own model's, and which of the two wins there.
"""

import json

import numpy as np
import pandas as pd

from ..core import model_io, segments
from ..core.modeling import mae, regression_metrics
from ..core.problems import report_problems
from ..core.project import use_case
from ..core.tracking import configure_tracking, log_to_run
from ..io.tables import read_table, write_table
from . import stage_paths

PLOTTED_PREDICTIONS = 1000


def main() -> None:
    paths = stage_paths("trained", "split_dir", "metrics", "plots_dir")
    case = use_case()
    contract = case.contract
    target, by = contract.target.name, case.segment
    train = read_table(paths.split_dir / "train.parquet")
    holdout = read_table(paths.split_dir / "holdout.parquet")
    model = model_io.load_model(str(paths.trained / "model"))
    run = json.loads((paths.trained / "run.json").read_text())

    predicted = pd.Series(model.predict(holdout[contract.feature_names]), holdout.index)
    baseline = np.full(len(holdout), train[target].mean())
    by_segment = {}
    for value, rows in holdout.groupby(by, observed=True, sort=True):
        global_mae = mae(rows[target], predicted[rows.index])
        figures = {"rows": len(rows), "global_mae": round(global_mae, 4)}
        if str(value) in run["segments"]:
            own = model_io.load_model(str(paths.trained / segments.FOLDER / segments.key(value)))
            own_mae = mae(rows[target], own.predict(rows[contract.feature_names]))
            figures["own_mae"] = round(own_mae, 4)
            figures["own_model_wins"] = figures["own_mae"] < figures["global_mae"]
        by_segment[str(value)] = figures
    metrics = {
        "holdout": regression_metrics(holdout[target], predicted),
        "baseline_mae": regression_metrics(holdout[target], baseline)["mae"],
        "segments": by_segment,
    }
    paths.metrics.write_text(json.dumps(metrics, indent=2) + "\n")
    table = pd.DataFrame.from_dict(by_segment, orient="index").rename(columns={"global_mae": "mae"})
    table = table.reindex(columns=["mae", "own_mae", "rows"]).rename_axis("segment").reset_index()
    write_table(table, paths.plots_dir / "mae_by_segment.csv")
    shown = slice(0, PLOTTED_PREDICTIONS)
    scatter = {"actual": holdout[target].iloc[shown], "predicted": predicted.iloc[shown].round(2)}
    write_table(pd.DataFrame(scatter), paths.plots_dir / "predicted_vs_actual.csv")

    configure_tracking(case.experiment)
    logged = {f"holdout_{k}": v for k, v in metrics["holdout"].items()}
    logged |= {"baseline_mae": metrics["baseline_mae"]}
    for value, figures in by_segment.items():
        logged[f"holdout_mae_{segments.key(value)}"] = figures["global_mae"]
        if "own_mae" in figures:
            logged[f"holdout_mae_{segments.key(value)}_own"] = figures["own_mae"]
    log_to_run(run["run_id"], logged)
    holdout_mae, baseline_mae = metrics["holdout"]["mae"], metrics["baseline_mae"]
    print(f"holdout MAE {holdout_mae:.3f}, predicting the mean {baseline_mae:.3f}: {paths.metrics}")


if __name__ == "__main__":
    report_problems(main)
