"""Stage `train`: fit the configured model, and one per segment if asked, and record them in MLflow.

With `segment.per_segment`, the segments' models are fitted in parallel on Dask
(core/fanout.py): local worker processes, or the cluster DASK_SCHEDULER_ADDRESS names.
"""

import json

import mlflow
import pandas as pd

from ..core import model_io, segments
from ..core.fanout import fan_out
from ..core.modeling import fit_model
from ..core.params import PARAMS_FILE, load_params
from ..core.problems import report_problems
from ..core.project import use_case
from ..core.reference import PROFILE, training_profile
from ..core.tasks import task_of
from ..core.tracking import configure_tracking, provenance
from ..io.tables import read_table
from . import stage_paths


def main() -> None:
    paths = stage_paths("train", "trained")
    params = load_params()
    case = use_case()
    contract = case.contract
    table = read_table(paths.train)
    features, target = table[contract.feature_names], table[contract.target.name]
    settings = {"contract": contract, "model": params.model, "log_target": params.train.log_target}
    model = fit_model(table, **settings)
    tables, by_segment = {}, {}
    if params.segment.per_segment:
        tables = segments.groups(table, case.segment, params.segment.min_rows)
        fitted = fan_out(fit_model, list(tables.values()), **settings)
        by_segment = dict(zip(tables, fitted, strict=True))

    def trusted(fitted) -> list[str]:
        return model_io.trusted_types(fitted, params.model.library, params.train.trusted_types)

    configure_tracking(case.experiment)
    tags = provenance(paths.train)
    with mlflow.start_run(run_name=tags["dvc.experiment"] or None, tags=tags) as run:
        read = {
            "model": params.model.model_dump(by_alias=True),
            "train": params.train.model_dump(),
            "segment": params.segment.model_dump(),
        }
        mlflow.log_params(pd.json_normalize(read, sep=".").iloc[0].to_dict())
        mlflow.log_artifact(str(PARAMS_FILE), "config")
        task = task_of(contract, params.train.threshold)
        fitted = task.metrics(target, task.scores(model, features))
        mlflow.log_metrics({f"train_{name}": value for name, value in fitted.items()})
        profile = {PROFILE: training_profile(table, contract)}  # what the service compares with
        model_uri = model_io.log_model(model, features, trusted(model), tags | profile)
        uris = {}
        for value, segment_model in by_segment.items():
            folder = f"{segments.FOLDER}/{segments.key(value)}"
            sample, trust = tables[value][contract.feature_names], trusted(segment_model)
            own = tags | {PROFILE: training_profile(tables[value], contract)}
            model_io.save_model(segment_model, paths.trained / folder, trust, own, sample)
            mlflow.log_artifacts(str(paths.trained / folder), folder)
            uris[value] = f"runs:/{run.info.run_id}/{folder}"
    # The same bytes as the logged model, as a DVC-tracked output: a clone pulls it.
    model_io.download(model_uri, paths.trained / "model")
    record = {"run_id": run.info.run_id, "model_uri": model_uri, "segments": uris}
    (paths.trained / "run.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    report_problems(main)
