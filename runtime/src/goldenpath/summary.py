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
    places = 3 if classifies else 2  # a log-loss of 0.097 is not 0.10
    if uses_server():
        registry = os.environ["MLFLOW_TRACKING_URI"]
    elif (project_root() / STORE).is_dir():
        registry = f"{STORE}/"
    else:  # a fresh clone: the champion came from the DVC remote, the runs stayed behind
        registry = "none in this copy (its runs are where it was trained)"
    print(
        f"\nChampion: {champion.model_name} version {champion.model_version}, from {latest}.\n"
        f"  Files: {CHAMPION_DIR}/ (versioned by DVC with this commit); registry: {registry}\n"
        f"  Holdout {label}: {decision['champion_score']:.{places}f} (scored on the latest run's"
        f" holdout; the latest run's model {metrics['holdout'][metric]:.{places}f};"
        f" {learnt_nothing} {metrics['baseline_' + metric]:.{places}f})\n"
        "Next:\n"
        "  make serve                  serve it on http://127.0.0.1:8000 (API docs at /docs)\n"
        "  make ui                     browse runs and registry on http://127.0.0.1:5000\n"
        + _another_model()
        + _own_data()
        + _fits(champion)
    )


def _own_data() -> str:
    from .core.params import load_params

    if load_params().data.source != "synthetic":  # the team's own table is the source
        return ""
    return "  data/external/README.md     train on your own data\n"


def _fits(champion: ChampionRecord) -> str:
    """A warning when the champion no longer fits the project (its contract or feature code
    changed since it was trained): the service and make score would refuse it."""
    from .core import model_io

    what = f"{champion.model_name} version {champion.model_version}"
    try:
        model_io.check_fits(CHAMPION_DIR, use_case().contract, what)
    except model_io.IncompatibleModel as problem:
        return f"\nWarning: {problem}\n"
    return ""


def _another_model() -> str:
    """The line suggesting a config of conf/model/ that fits the task, other than the one
    trained (LightGBM's first), if there is one."""
    import yaml

    from .core.modeling import build_model
    from .core.params import ModelParams, load_params
    from .core.problems import Problem

    trained, contract = load_params().model.target, use_case().contract
    for path in sorted(Path("conf/model").glob("*.yaml"), key=lambda p: p.stem != "lightgbm"):
        config = yaml.safe_load(path.read_text()) or {}
        if config.get("_target_") == trained:
            continue
        try:
            build_model(contract, ModelParams.model_validate(config))
        except (Problem, ValueError, TypeError):
            continue  # another task's, or broken: not a suggestion
        return f"  uv run dvc exp run -S model={path.stem}   try another model (conf/model/)\n"
    return ""


if __name__ == "__main__":
    try:
        main()
        sys.stdout.flush()
    except BrokenPipeError:  # `make summary | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
