"""The promotion gate: a trained model replaces the champion of record only if it wins.

It must beat the champion's holdout figure by `promotion.min_improvement`, both scored
on the same holdout, so the comparison stays fair when the data changed. The figure is
`promotion.metric`, or the task's own (core/tasks.py: MAE for a regression, log-loss
for a classifier), compared in the direction that metric is better. A champion
that no longer fits the contract (trained on another branch) cannot be scored and
gives up its place. Registration is idempotent: a model restored from DVC's run
cache keeps the version it has. `challenger` goes to the best model that did not win.
"""

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from . import model_io
from .champion import UNREGISTERED, ChampionRecord, install_champion
from .contract import Contract
from .params import PromotionParams
from .reference import baseline
from .registry import (
    BASELINE,
    CHALLENGER,
    CHAMPION,
    GATE_METRIC,
    THRESHOLD,
    Registry,
    champion_uri,
)
from .tasks import METRICS, Task, gate_metric


@dataclass(frozen=True)
class Candidate:
    model_dir: Path  # the trained model's files
    run_id: str
    model_uri: str  # what the registry registers: a logged model or a run's artifact


@dataclass
class Decision:
    """The gate's verdict; the figures are `metric`'s, under keys that name it
    (`holdout_mae`, `holdout_log_loss`...)."""

    model_name: str
    metric: str
    candidate: dict
    champion_before: dict | None
    promoted: bool
    champion_score: float  # the champion's after the gate, on this holdout
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Gate:
    registry: Registry
    contract: Contract
    task: Task
    holdout: pd.DataFrame
    promotion: PromotionParams
    may_register: str | None  # None, or why this run registers nothing
    server: bool  # the champion of record is the server's (else the champion directory's)
    segment: str  # the feature whose groups get their own baseline figures
    notes: list[str] = field(default_factory=list)
    metric: str = field(init=False)

    def __post_init__(self) -> None:
        # Refused here, before anything is scored, if the task has no such metric.
        self.metric = gate_metric(self.task, self.promotion.metric)

    def predict(self, uri: str, what: str) -> np.ndarray | None:
        """The model's holdout scores; None (and a note) if it does not fit the contract."""
        try:
            model_io.check_fits(uri, self.contract, what)
        except model_io.IncompatibleModel as problem:
            self.notes.append(str(problem))
            return None
        model = model_io.load_model(uri)
        return self.task.scores(model, self.holdout[self.contract.feature_names])

    def score(self, uri: str, what: str) -> float | None:
        if (predicted := self.predict(uri, what)) is None:
            return None
        return self.task.metric(self.metric, self.holdout[self.contract.target.name], predicted)

    def wins(self, new: float, old: float | None) -> bool:
        """`new` beats `old` by `promotion.min_improvement`, the way `metric` is better."""
        return old is None or METRICS[self.metric].better(new, old, self.promotion.min_improvement)

    def __call__(self, candidate: Candidate, champion_dir: Path, keep=()) -> Decision:
        """Apply the gate; `champion_dir` ends up holding the champion (`keep`: its sub-folders
        that are not part of the model and stay)."""
        what = f"the trained model ({self.registry.name})"
        predicted = self.predict(str(candidate.model_dir), what)
        if predicted is None:
            raise model_io.IncompatibleModel(self.notes[-1])
        actual, metric = self.holdout[self.contract.target.name], self.metric
        figures = self.task.metrics(actual, predicted)
        new_score = self.task.metric(metric, actual, predicted)
        baseline_figures = baseline(self.holdout, predicted, self.contract, self.segment, self.task)
        champion = champion_uri(champion_dir, self.registry, self.server)
        old_score = self.score(*champion) if champion else None
        if champion and old_score is None:
            old_score = self._recorded(champion[0], candidate)
        same = champion is not None and self._run_of(champion[0]) == candidate.run_id
        promoted = same or self.wins(new_score, old_score)

        version = None
        if self.may_register is not None:
            self.notes.append(self.may_register)
        elif not self.registry.has_run(candidate.run_id):
            missing = f"run {candidate.run_id} is not in this MLflow store: nothing registered"
            self.notes.append(missing)
        else:
            version = self.registry.register(candidate.model_uri, candidate.run_id)
            for name, value in figures.items():
                self.registry.tag(version, f"holdout_{name}", f"{value:.4f}")
            self.registry.tag(version, GATE_METRIC, metric)
            if self.threshold is not None:
                self.registry.tag(version, THRESHOLD, str(self.threshold))
            self.registry.tag(version, BASELINE, json.dumps(baseline_figures))
            self._move_aliases(version, new_score, promoted, old_score)

        if promoted and (version or not same):  # else the same model keeps its record
            record = ChampionRecord.of(
                str(candidate.model_dir),
                self.registry.name,
                version or UNREGISTERED,
                candidate.run_id,
                figures,
                metric,
            )
            record = replace(record, baseline=baseline_figures)  # what live traffic meets
            install_champion(candidate.model_dir, champion_dir, record, keep)
        elif champion and self.server:  # the commit carries the champion it was compared with
            self.registry.fetch(self.registry.alias(CHAMPION), champion_dir, keep)
        self._decide_at_threshold(champion_dir)
        figure = f"holdout_{metric}"
        return Decision(
            model_name=self.registry.name,
            metric=metric,
            candidate={"run_id": candidate.run_id, "version": version, figure: new_score},
            champion_before={"model": champion[1], figure: old_score} if champion else None,
            promoted=promoted,
            champion_score=new_score if promoted or old_score is None else old_score,
            notes=self.notes,
        )

    def _recorded(self, uri: str, candidate: Candidate) -> float | None:
        """The champion's holdout figure recorded at its promotion, when it cannot predict
        here (another contract or feature code: noted) but was trained on the candidate's
        training data: the same split, so the same holdout rows, and a figure that still
        compares. None otherwise: the candidate is then promoted without a comparison."""
        if uri.startswith("models:/"):
            record = self.registry.describe(self.registry.resolve(uri))
        else:
            record = ChampionRecord.read(Path(uri))
        trained_on = model_io.metadata(str(candidate.model_dir)).get("dvc.data_md5")
        if record is None or record.metric != self.metric or record.data_md5 != trained_on:
            return None
        if (figure := record.holdout.get(self.metric)) is not None:
            self.notes.append(
                f"compared with the champion's holdout {self.metric} recorded at its promotion"
                f" ({figure}): it was trained on the same data, and cannot predict here"
            )
        return figure

    @property
    def threshold(self) -> float | None:
        return self.task.threshold if self.task.name == "binary" else None

    def _decide_at_threshold(self, champion_dir: Path) -> None:
        """The champion decides at today's train.threshold, whichever run trained it: the
        threshold is a decision about the model's probabilities, not part of the model."""
        record = ChampionRecord.read(champion_dir)
        if record is not None and record.threshold != self.threshold:
            replace(record, threshold=self.threshold).write(champion_dir)

    def _run_of(self, uri: str) -> str | None:
        if uri.startswith("models:/"):
            return self.registry.resolve(uri).run_id
        record = ChampionRecord.read(Path(uri))
        return record.run_id if record else None

    def _move_aliases(self, version: str, new_score: float, promoted: bool, old_score) -> None:
        """`champion` to the winner; `challenger` to the best model that did not win."""
        registry, losers = self.registry, {}
        if promoted:
            dethroned = registry.alias(CHAMPION)
            registry.set_alias(CHAMPION, version)
            if dethroned and str(dethroned.version) != version and old_score is not None:
                losers[str(dethroned.version)] = old_score
        else:
            losers[version] = new_score
        challenger = registry.alias(CHALLENGER)
        current = str(challenger.version) if challenger else None
        if current and current not in losers and current != version:
            what = f"the challenger, {registry.name} version {current}"
            if (challenger_score := self.score(registry.uri(current), what)) is not None:
                losers[current] = challenger_score
        if losers:
            best = max if METRICS[self.metric].higher_is_better else min
            registry.set_alias(CHALLENGER, best(losers, key=losers.__getitem__))
        elif current == version:
            registry.drop_alias(CHALLENGER)
