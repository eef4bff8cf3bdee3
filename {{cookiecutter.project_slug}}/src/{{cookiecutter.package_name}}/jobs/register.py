"""Stage `register`: the promotion gate, then the registry.

The trained model replaces the champion of record (core/registry.py says which
that is) only if its holdout MAE is lower by `promotion.min_improvement`. The
champion is re-scored on *this* holdout, so the comparison stays fair when the
data changed; one that no longer fits the contract (trained on another branch)
cannot be scored and gives up its place. Registration is idempotent: a model
restored from DVC's run cache keeps the version it has. Queued experiments
report their decision and register nothing, unless `promotion.register_queued`.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..core import model_io
from ..core.modeling import mae
from ..core.params import load_params
from ..core.problems import report_problems
from ..core.registry import (
    CHALLENGER,
    CHAMPION,
    UNREGISTERED,
    ChampionRecord,
    Registry,
    champion_uri,
    install_champion,
)
from ..core.tracking import configure_tracking, project_root, uses_server
from ..io.tables import read_table
from ..usecase import USE_CASE
from . import stage_paths


@dataclass
class Scorer:
    """Holdout MAE of the models in the gate, each checked against the contract first."""

    holdout: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def __call__(self, uri: str, what: str) -> float | None:
        contract = USE_CASE.contract
        try:
            model_io.check_fits(uri, contract, what)
        except model_io.IncompatibleModel as problem:
            self.notes.append(str(problem))
            return None
        predicted = model_io.load_model(uri).predict(self.holdout[contract.feature_names])
        return mae(self.holdout[contract.target.name], predicted)


def main() -> None:
    paths = stage_paths("trained", "holdout", "champion", "decision")
    promotion = load_params().promotion
    configure_tracking(USE_CASE.experiment)
    registry = Registry(USE_CASE.name)
    run = json.loads((paths.trained / "run.json").read_text())
    candidate_dir = paths.trained / "model"
    score = Scorer(read_table(paths.holdout))

    new_mae = score(str(candidate_dir), "the trained model")
    if new_mae is None:
        raise model_io.IncompatibleModel(score.notes[-1])
    champion = champion_uri(paths.champion, registry, uses_server())
    old_mae = score(*champion) if champion else None
    same_model = champion is not None and _run_of(champion[0], registry) == run["run_id"]
    promoted = same_model or old_mae is None or new_mae < old_mae * (1 - promotion.min_improvement)

    version = None
    if Path.cwd().resolve() != project_root() and not promotion.register_queued:
        score.notes.append("a queued experiment: nothing registered (promotion.register_queued)")
    elif not registry.has_run(run["run_id"]):
        score.notes.append(f"run {run['run_id']} is not in this MLflow store: nothing registered")
    else:
        version = registry.register(run["model_uri"], run["run_id"])
        registry.tag(version, "holdout_mae", f"{new_mae:.4f}")
        _move_aliases(registry, version, new_mae, promoted, old_mae, score)

    if promoted:
        name, run_id = USE_CASE.name, run["run_id"]
        record = ChampionRecord.of(
            str(candidate_dir), name, version or UNREGISTERED, run_id, new_mae
        )
        install_champion(candidate_dir, paths.champion, record)
    elif champion and uses_server():  # the commit carries the champion it was compared with
        registry.fetch(registry.alias(CHAMPION), paths.champion)

    decision = {
        "model_name": USE_CASE.name,
        "candidate": {"run_id": run["run_id"], "version": version, "holdout_mae": new_mae},
        "champion_before": {"model": champion[1], "holdout_mae": old_mae} if champion else None,
        "promoted": promoted,
        "notes": score.notes,
    }
    paths.decision.write_text(json.dumps(decision, indent=2) + "\n")
    verdict = "the champion" if promoted else "not the champion"
    print(f"{USE_CASE.name} {version or '(unregistered)'}: {verdict} (holdout MAE {new_mae:.3f})")
    for note in score.notes:
        print(f"  note: {note}")


def _run_of(uri: str, registry: Registry) -> str | None:
    if uri.startswith("models:/"):
        return registry.resolve(uri).run_id
    record = ChampionRecord.read(Path(uri))
    return record.run_id if record else None


def _move_aliases(registry, version, new_mae, promoted, old_mae, score) -> None:
    """`champion` to the winner; `challenger` to the best model that did not win."""
    losers: dict[str, float] = {}
    if promoted:
        dethroned = registry.alias(CHAMPION)
        registry.set_alias(CHAMPION, version)
        if dethroned and str(dethroned.version) != version and old_mae is not None:
            losers[str(dethroned.version)] = old_mae
    else:
        losers[version] = new_mae
    challenger = registry.alias(CHALLENGER)
    current = str(challenger.version) if challenger else None
    if current and current not in losers and current != version:
        what = f"the challenger, version {current}"
        if (challenger_mae := score(registry.uri(current), what)) is not None:
            losers[current] = challenger_mae
    if losers:
        registry.set_alias(CHALLENGER, min(losers, key=losers.__getitem__))
    elif current == version:
        registry.drop_alias(CHALLENGER)


if __name__ == "__main__":
    report_problems(main)
