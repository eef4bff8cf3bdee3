"""`make monitor`: a window of the prediction log against what the served model learnt from.

    python -m goldenpath.monitoring.monitor [HYDRA OVERRIDES...]
    (or: make monitor ARGS='monitor.window_hours=24')

1. The window (conf/monitor/) of the store PREDICTION_LOG names, with the outcomes
   reported so far (outcomes.py).
2. The served models (MODEL_URI; else the champion of record: with MLFLOW_TRACKING_URI,
   the server's @champion, else this commit's models/champion/ and the segments' models
   that serve) and the reference: the training split the global model was fitted on,
   found by the DVC hash its record carries (training_data.py), with its predictions.
3. Evidently's checks, each a test with conf/monitor/'s threshold: the drift of every
   feature and of the prediction, overall and within every segment (city) with enough
   rows; inputs outside the training ranges; where outcomes are known, the live loss
   (MAE; a classifier's log-loss), overall and by segment, against the holdout's
   recorded at promotion, and beside its holdout's a binary classifier's live ROC AUC,
   a multiclass one's live accuracy.
4. `report.html` (what moved, at the top of Evidently's report) and `summary.json` in
   `monitor.output`; the snapshot goes to the Evidently UI too (evidently_ui.py).

Exit status 1 when a check fails; the summary names the features and segments that moved.
"""

import json
import os
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ..core.champion import ChampionRecord
from ..core.params import MonitorParams, compose_params, parse_params
from ..core.problems import Problem, report_problems
from ..core.project import use_case
from ..core.tasks import task_of
from ..core.tracking import uses_server
from ..serving.model import ServedSet, default_model_uri, load_served_set
from . import checks, evidently_ui, page
from .store import LOCATION, PREDICTION, PROBABILITIES, open_store, with_outcomes
from .training_data import reference_table


class NothingToJudge(Problem):
    pass


def main() -> None:
    settings = parse_params(compose_params(overrides=sys.argv[1:])).monitor
    since, until = settings.window(datetime.now(UTC))
    summary, snapshot = run(settings, since, until)
    output = Path(settings.output)
    output.mkdir(parents=True, exist_ok=True)
    (output / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    page.write(snapshot, summary, output / "report.html")
    where = evidently_ui.add(snapshot, use_case().name, output)
    print(page.text(summary))
    print(f"report: {output / 'report.html'}; summary: {output / 'summary.json'}; {where}")
    if summary["alarm"]:
        sys.exit(1)


def served_model_uri() -> str:
    """MODEL_URI, else the champion of record (core/registry.py: the server's, if there is one)."""
    if not os.environ.get("MODEL_URI") and uses_server():
        return f"models:/{use_case().name}@champion"
    return default_model_uri()


def judged_as(served: ServedSet, loss: str) -> ChampionRecord:
    """The global model's record, its baseline's `loss` by segment (MAE, log-loss) taken,
    for a segment with a model of its own (serving/routing.py), from that model's holdout
    figure on the segment."""
    record, key = served.main.record, f"{loss}_by_segment"
    by_segment = record.baseline.get(key, {}) | {
        segment: own.record.holdout.get(loss) for segment, own in served.own.items()
    }
    return replace(record, baseline=record.baseline | {key: by_segment})


def run(settings: MonitorParams, since: datetime, until: datetime):
    """(summary, Evidently snapshot) of the window [since, until)."""
    contract = use_case().contract
    task = task_of(contract)
    store = open_store(contract)
    if store is None:
        raise NothingToJudge(f"{LOCATION}=off: there is no prediction log to monitor")
    served = load_served_set(served_model_uri(), contract)
    record = judged_as(served, task.loss)
    live = with_outcomes(store, contract, since, until)
    models = [model.record for model in (served.main, *served.own.values())]
    served_models = {(model.model_name, model.model_version) for model in models}
    mine = pd.MultiIndex.from_frame(live[["model_name", "model_version"]]).isin(served_models)
    others = live.loc[~mine, ["model_name", "model_version"]].drop_duplicates()
    live = live[mine].reset_index(drop=True)
    if len(live) < settings.min_rows:
        raise NothingToJudge(
            f"{len(live)} predictions of {record.model_name} version {record.model_version} "
            f"between {since:%Y-%m-%d %H:%M} and {until:%Y-%m-%d %H:%M} UTC (monitor.min_rows: "
            f"{settings.min_rows}). Is the service logging (PREDICTION_LOG), and is this the "
            "window you meant (monitor.window_hours, monitor.since, monitor.until)?"
        )
    reference = reference_table(record, served.main.predictor, contract)
    snapshot, found = checks.evaluate(live, reference, record, use_case(), settings)
    summary = {
        "window": {
            "since": since.isoformat(),
            "until": until.isoformat(),
            "predictions": len(live),
            "with_outcomes": int(live[contract.target.name].notna().sum()),
            "other_models": [f"{name} {version}" for name, version in others.itertuples(False)],
        },
        "model": {
            "name": record.model_name,
            "version": record.model_version,
            f"holdout_{task.loss}": record.holdout.get(task.loss),
            "training_data_md5": record.data_md5,
            "training_rows": len(reference),
        },
        **found,
    }
    if task.name == "binary":  # a ranking figure: beside the holdout's, not a check
        known = live[live[contract.target.name].notna()]
        live_auc = task.metric("roc_auc", known[contract.target.name], known[PREDICTION])
        summary["model"]["holdout_roc_auc"] = record.holdout.get("roc_auc")
        summary["window"]["live_roc_auc"] = None if live_auc != live_auc else round(live_auc, 4)
    if task.name == "multiclass":  # beside the holdout's, not a check
        target = contract.target.name
        known = live[live[target].notna() & live[PROBABILITIES].notna()]
        scores = checks.logged_scores(known, task)
        accuracy = task.metric("accuracy", known[target], scores) if len(known) else None
        summary["model"]["holdout_accuracy"] = record.holdout.get("accuracy")
        summary["window"]["live_accuracy"] = None if accuracy is None else round(accuracy, 4)
    return summary, snapshot


if __name__ == "__main__":
    report_problems(main)
