"""Stage `register`: a new model version; `champion` moves only if it is better.

The current champion is re-scored on *this* holdout, so the comparison is fair
even when the data changed since it was promoted. A version that does not win
gets the `challenger` alias.
"""

import json

import mlflow
from mlflow.exceptions import MlflowException

from ..contract import FEATURE_NAMES, TARGET
from ..modeling import regression_metrics
from ..params import load_params
from ..tracking import configure_tracking
from . import read_orders, stage_paths

CHAMPION, CHALLENGER = "champion", "challenger"


def champion_mae(client: mlflow.MlflowClient, name: str, holdout) -> float | None:
    try:
        client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None  # no champion yet: the first version wins
    champion = mlflow.sklearn.load_model(f"models:/{name}@{CHAMPION}")
    predicted = champion.predict(holdout[FEATURE_NAMES])
    return regression_metrics(holdout[TARGET.name], predicted)["mae"]


def main() -> None:
    paths = stage_paths("models", "metrics", "holdout", "decision")
    params = load_params()
    name, margin = params["mlflow"]["model_name"], params["train"]["promotion_margin_minutes"]
    new_mae = json.loads(paths.metrics.read_text())["holdout"]["mae"]
    model_uri = json.loads((paths.models / "run.json").read_text())["model_uri"]

    configure_tracking(params["mlflow"]["experiment"])
    client = mlflow.MlflowClient()
    current_mae = champion_mae(client, name, read_orders(paths.holdout))
    version = mlflow.register_model(model_uri, name).version
    promoted = current_mae is None or new_mae < current_mae - margin
    alias = CHAMPION if promoted else CHALLENGER
    client.set_registered_model_alias(name, alias, version)
    client.set_model_version_tag(name, version, "holdout_mae", f"{new_mae:.4f}")

    decision = {
        "model_name": name,
        "version": int(version),
        "alias": alias,
        "holdout_mae": new_mae,
        "champion_holdout_mae_before": current_mae,
    }
    paths.decision.write_text(json.dumps(decision, indent=2) + "\n")
    print(f"{name} version {version} -> @{alias} (holdout MAE {new_mae:.3f} vs {current_mae})")


if __name__ == "__main__":
    main()
