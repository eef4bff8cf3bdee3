"""What the pipeline produced, in a few lines: `make summary` (the end of `make quickstart`)."""

import json
import sys
from pathlib import Path

from .core.champion import ChampionRecord
from .serving.model import CHAMPION_DIR


def main() -> None:
    champion = ChampionRecord.read(Path(CHAMPION_DIR))
    if champion is None:
        sys.exit("No champion yet: `make repro` trains one (in a fresh clone: `uv run dvc pull`).")
    metrics = json.loads(Path("metrics.json").read_text())
    decision = json.loads(Path("reports/registration.json").read_text())
    latest = "the latest run" if decision["promoted"] else "an earlier run; the latest lost"
    print(
        f"\nChampion: {champion.model_name} version {champion.model_version}, from {latest}.\n"
        f"  Files: {CHAMPION_DIR}/ (versioned by DVC with this commit); registry: .mlflow/\n"
        f"  Holdout MAE: {champion.holdout_mae:.2f} (latest run {metrics['holdout']['mae']:.2f}; "
        f"predicting the mean: {metrics['baseline_mae']:.2f})\n"
        "Next:\n"
        "  make serve                  serve it on http://127.0.0.1:8000 (API docs at /docs)\n"
        "  make ui                     browse runs and registry on http://127.0.0.1:5000\n"
        "  uv run dvc exp run -S model=lightgbm   try another model (conf/model/)\n"
        "  data/external/README.md     train on your own data\n"
    )


if __name__ == "__main__":
    main()
