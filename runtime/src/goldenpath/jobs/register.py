"""Stage `register`: the promotion gate (core/promotion.py), for every trained model.

The champion of record (core/registry.py says which) is in `models/champion/`:
the global model, and with `segment.per_segment` each segment's champion under
`segments/`, marked to serve its segment only where it beats the global champion
there. Queued experiments register nothing, unless `promotion.register_queued`;
with PROMOTION_DRY_RUN=1 (the scheduled retrain: its pull request shows the verdict,
the release after the merge registers) nothing is registered either.
"""

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd

from ..core import model_io, segments
from ..core.champion import ChampionRecord
from ..core.params import load_params
from ..core.problems import report_problems
from ..core.project import use_case
from ..core.promotion import Candidate, Gate
from ..core.registry import Registry
from ..core.tasks import LABELS, METRICS, task_of
from ..core.tracking import configure_tracking, project_root, uses_server
from ..io.tables import read_table
from . import stage_paths

DRY_RUN = "PROMOTION_DRY_RUN"


def main() -> None:
    paths = stage_paths("trained", "holdout", "champion", "decision")
    params = load_params()
    case = use_case()
    configure_tracking(case.experiment)
    holdout = read_table(paths.holdout)
    task = task_of(case.contract, params.train.threshold)
    run = json.loads((paths.trained / "run.json").read_text())
    if os.environ.get(DRY_RUN) == "1":
        why_not = f"a dry run ({DRY_RUN}=1): the gate's verdict, nothing registered"
    elif Path.cwd().resolve() != project_root() and not params.promotion.register_queued:
        why_not = "a queued experiment: nothing registered (promotion.register_queued)"
    else:
        why_not = None

    def gate(name: str, rows: pd.DataFrame) -> Gate:
        return Gate(
            Registry(name),
            case.contract,
            task,
            rows,
            params.promotion,
            why_not,
            uses_server(),
            case.segment,
        )

    overall = gate(case.name, holdout)(
        Candidate(paths.trained / "model", run["run_id"], run["model_uri"]),
        paths.champion,
        keep=(segments.FOLDER,),
    )
    decision = overall.as_dict()
    champions = paths.champion / segments.FOLDER
    if params.segment.per_segment:
        decision["segments"] = _segment_gates(case, task, paths, run, holdout, gate)
    else:  # one model for every row: the set is the global champion alone
        shutil.rmtree(champions, ignore_errors=True)
    paths.decision.write_text(json.dumps(decision, indent=2) + "\n")
    _report(decision)


def _segment_gates(case, task, paths, run, holdout: pd.DataFrame, gate) -> dict[str, dict]:
    """Each segment's gate; its champion serves it where it beats the global champion."""
    by, contract = case.segment, case.contract
    global_model = model_io.load_model(str(paths.champion))
    global_scores = task.scores(global_model, holdout[contract.feature_names])
    decisions = {}
    for value, model_uri in run["segments"].items():
        here = (holdout[by] == value).to_numpy()
        rows = holdout[here]
        if rows.empty:
            continue  # no holdout rows to judge it on: it stays unregistered
        folder = segments.key(value)
        candidate = Candidate(paths.trained / segments.FOLDER / folder, run["run_id"], model_uri)
        champion_dir = paths.champion / segments.FOLDER / folder
        name = segments.registered_name(case.name, value)
        decision = gate(name, rows)(candidate, champion_dir).as_dict()
        metric = decision["metric"]
        global_score = task.metric(metric, rows[contract.target.name], global_scores[here])
        serves = METRICS[metric].better(decision["champion_score"], global_score)
        if (record := ChampionRecord.read(champion_dir)) is not None:
            replace(record, serves=serves, segment=value).write(champion_dir)
        decisions[value] = decision | {f"global_champion_{metric}": global_score, "serves": serves}
    return decisions


def _report(decision: dict) -> None:
    def line(d: dict) -> str:
        candidate = d["candidate"]
        verdict = "the champion" if d["promoted"] else "not the champion"
        version = candidate["version"] or "(unregistered)"
        figure = f"holdout {LABELS[d['metric']]} {candidate['holdout_' + d['metric']]:.3f}"
        return f"{d['model_name']} {version}: {verdict} ({figure})"

    print(line(decision))
    for value, d in decision.get("segments", {}).items():
        serving = "serves" if d["serves"] else "the global champion serves"
        print(f"  {line(d)}; {value}: {serving}")
    for note in decision["notes"]:
        print(f"  note: {note}")


if __name__ == "__main__":
    report_problems(main)
