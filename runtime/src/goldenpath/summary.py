"""What the pipeline produced, in a few lines: `make summary` (the end of `make quickstart`)."""

import json
import os
import sys
from pathlib import Path

from .core.champion import ChampionRecord
from .core.project import use_case
from .core.tasks import LABELS
from .core.tracking import STORE, project_root, uses_server
from .serving.model import CHAMPION_DIR


def main() -> None:
    champion = ChampionRecord.read(Path(CHAMPION_DIR))
    if champion is None:
        sys.exit("No champion yet: `make repro` trains one (in a fresh clone: `uv run dvc pull`).")
    metrics = json.loads(Path("metrics.json").read_text())
    decision = json.loads(Path("reports/registration.json").read_text())
    latest = "the latest run" if decision["promoted"] else "an earlier run; the latest lost"
    metric = decision["metric"]  # the promotion gate's
    label = LABELS[metric]
    classifies = use_case().contract.task != "regression"
    learnt_nothing = "predicting the classes' frequencies" if classifies else "predicting the mean"
    if uses_server():
        registry = os.environ["MLFLOW_TRACKING_URI"]
    elif (project_root() / STORE).is_dir():
        registry = f"{STORE}/"
    else:  # a fresh clone: the champion came from the DVC remote, the runs stayed behind
        registry = "none in this copy (its runs are where it was trained)"
    print(
        f"\nChampion: {champion.model_name} version {champion.model_version}, from {latest}.\n"
        f"  Files: {CHAMPION_DIR}/ (versioned by DVC with this commit); registry: {registry}\n"
        f"  Holdout {label}: {decision['champion_score']:.2f} (scored on the latest run's"
        f" holdout; the latest run's model {metrics['holdout'][metric]:.2f}; {learnt_nothing}"
        f" {metrics['baseline_' + metric]:.2f})\n"
        "Next:\n"
        "  make serve                  serve it on http://127.0.0.1:8000 (API docs at /docs)\n"
        "  make ui                     browse runs and registry on http://127.0.0.1:5000\n"
        "  uv run dvc exp run -S model=lightgbm   try another model (conf/model/)\n"
        "  data/external/README.md     train on your own data\n"
    )


if __name__ == "__main__":
    main()
