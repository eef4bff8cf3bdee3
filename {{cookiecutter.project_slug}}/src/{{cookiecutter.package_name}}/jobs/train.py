"""Stage `train`: fit the configured model and record it, with its provenance, in MLflow."""

import json
import warnings

import mlflow
import pandas as pd
from mlflow.models import infer_signature

from ..contract import FEATURE_NAMES, TARGET
from ..modeling import build_model, regression_metrics, skops_trusted_types
from ..params import PARAMS_FILE, load_params
from ..tracking import configure_tracking, provenance
from . import read_orders, stage_paths


def main() -> None:
    paths = stage_paths("train", "models")
    params = load_params()
    train = read_orders(paths.train)
    features, target = train[FEATURE_NAMES], train[TARGET.name]

    model = build_model(params["model"], log_target=params["train"]["log_target"])
    model.fit(features, target)
    fitted = model.predict(features)

    configure_tracking(params["mlflow"]["experiment"])
    tags = provenance(paths.train)
    with warnings.catch_warnings():
        # MLflow hints that integer columns cannot hold missing values: the contract forbids them.
        warnings.filterwarnings("ignore", message=".*integer column", category=UserWarning)
        signature = infer_signature(features, fitted)
    with mlflow.start_run(tags=tags) as run:
        mlflow.log_params(pd.json_normalize(params, sep=".").iloc[0].to_dict())
        mlflow.log_artifact(str(PARAMS_FILE), "config")
        mlflow.log_metrics({f"train_{k}": v for k, v in regression_metrics(target, fitted).items()})
        logged = mlflow.sklearn.log_model(
            model,
            name="model",
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
            skops_trusted_types=skops_trusted_types(model),
            signature=signature,
            input_example=features.head(3),
            metadata=tags,
        )
    # The same bytes as the logged model, as a DVC-tracked output.
    mlflow.artifacts.download_artifacts(logged.model_uri, dst_path=str(paths.models / "model"))
    record = {"run_id": run.info.run_id, "model_uri": logged.model_uri}
    (paths.models / "run.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
