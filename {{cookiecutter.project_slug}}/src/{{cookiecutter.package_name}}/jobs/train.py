"""Stage `train`: fit the configured model and record it, with its provenance, in MLflow."""

import json

import mlflow
import pandas as pd

from ..core import model_io
from ..core.modeling import build_model, regression_metrics
from ..core.params import PARAMS_FILE, load_params
from ..core.problems import report_problems
from ..core.tracking import configure_tracking, provenance
from ..io.tables import read_table
from ..usecase import USE_CASE
from . import stage_paths


def main() -> None:
    paths = stage_paths("train", "trained")
    params = load_params()
    contract = USE_CASE.contract
    table = read_table(paths.train)
    features, target = table[contract.feature_names], table[contract.target.name]

    model = build_model(contract, params.model, log_target=params.train.log_target)
    model.fit(features, target)
    trusted = model_io.trusted_types(model, params.model.library, params.train.trusted_types)

    configure_tracking(USE_CASE.experiment)
    tags = provenance(paths.train)
    with mlflow.start_run(run_name=tags["dvc.experiment"] or None, tags=tags) as run:
        read = {"model": params.model.model_dump(by_alias=True), "train": params.train.model_dump()}
        mlflow.log_params(pd.json_normalize(read, sep=".").iloc[0].to_dict())
        mlflow.log_artifact(str(PARAMS_FILE), "config")
        fitted = model.predict(features)
        mlflow.log_metrics({f"train_{k}": v for k, v in regression_metrics(target, fitted).items()})
        model_uri = model_io.log_model(model, features, trusted, tags)
    # The same bytes as the logged model, as a DVC-tracked output: a clone pulls it.
    model_io.download(model_uri, paths.trained / "model")
    record = {"run_id": run.info.run_id, "model_uri": model_uri}
    (paths.trained / "run.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    report_problems(main)
