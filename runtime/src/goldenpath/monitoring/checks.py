"""The monitor's checks as one Evidently report: drift, ranges and live error, each a test.

Within a segment (a city), a column's values are also an extra column named
`<column> [<segment>]`, empty on the other segments' rows: Evidently judges it like
any other column and its tests name the segment. (Evidently 0.7's GroupBy gives every
group the overall MAE and leaves the group out of its tests' names: not used here.)
The live error of a window is the task's loss (core/tasks.py: a regression's mean
absolute error, a binary classifier's log-loss) over the predictions whose outcome is
known; the reference's error column holds the holdout figure recorded at promotion, so
the report shows the two side by side. A binary classifier's prediction is its
probability of the positive class, a multiclass one's that of its most likely class
(its log-loss is computed from every class's, which the log keeps). Derived features
are computed on both windows by the project's feature code (the code the champion was
trained with: one that is not fails to load) and judged as features of their kind.
"""

import re
import warnings
from typing import Any

import numpy as np
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.metrics import MeanValue, MissingValueCount, OutListValueCount, OutRangeValueCount
from evidently.presets import DataDriftPreset
from evidently.tests import lte

from ..core.champion import ChampionRecord
from ..core.contract import UseCase
from ..core.derived import FeatureCodeFailed, InvalidDerived
from ..core.params import MonitorParams
from ..core.tasks import LABELS, Task, task_of
from .store import PREDICTION, PROBABILITIES

# The column of each row's loss, by the task's loss metric (Task.loss).
LOSS_COLUMNS = {"mae": "absolute_error", "log_loss": "log_loss"}
NOISE = 2  # standard errors of the holdout's figure a live error may be above it
FAILING = ("FAIL", "ERROR")  # Evidently's test statuses that raise the alarm
PREDICTED_CLASS = "predicted_class"  # a multiclass model's, judged for drift
IN_SEGMENT = re.compile(r"^(?P<column>.*) \[(?P<segment>.*)\]$")


def in_segment(column: str, segment: str) -> str:
    return f"{column} [{segment}]"


def evaluate(
    live: pd.DataFrame,
    reference: pd.DataFrame,
    record: ChampionRecord,
    use_case: UseCase,
    settings: MonitorParams,
):
    """(Evidently snapshot, findings): `live` (with outcomes) against `reference`."""
    contract, by = use_case.contract, use_case.segment
    target, notes = contract.target.name, []
    task = task_of(contract)
    error = LOSS_COLUMNS[task.loss]
    live, reference, derived = _with_derived(live, reference, use_case, notes)
    inputs = [f for f in contract.inputs if f.name in (*contract.feature_names, *derived)]
    names = [f.name for f in inputs]
    numeric = [f.name for f in inputs if not (f.is_categorical or f.is_timestamp)]
    categorical = [f.name for f in inputs if f.is_categorical]
    # A high-cardinality column's shares over thousands of values move by chance alone:
    # judged by its share of values training never saw instead, not by drift.
    many = [f.name for f in inputs if f.high_cardinality]
    # A timestamp is not judged at all: time only moves on, a later week is always later.
    features = [name for name in names if name not in contract.timestamps]
    current = live[[*features, PREDICTION]].copy()
    current[error] = task.losses(live[target], logged_scores(live, task))
    past = reference[[*features, PREDICTION]].copy()
    past[error] = record.holdout.get(task.loss)
    shown = PREDICTION  # the prediction whose drift is judged
    if task.name == "multiclass":
        # The class it predicts, not its top probability: that is higher on the rows a
        # model was fitted on (the reference's) than on any others, a drift by itself.
        shown, categorical = PREDICTED_CLASS, [*categorical, PREDICTED_CLASS]
        current[shown] = task.decide(logged_scores(live, task))
        past[shown] = task.decide(logged_scores(reference, task))
        current, past = current.drop(columns=PREDICTION), past.drop(columns=PREDICTION)
    rows = current[by].value_counts()
    segments = sorted(str(s) for s, n in rows.items() if n >= settings.drift.segment_min_rows)
    if small := sorted(str(s) for s, n in rows.items() if n < settings.drift.segment_min_rows):
        notes.append(f"{by} {', '.join(small)}: too few predictions to judge alone")
    judged = [name for name in features if name not in (by, *many)] + [shown]
    per_segment_loss = record.baseline.get(f"{task.loss}_by_segment", {})
    extra_now, extra_then = {}, {}
    for segment in segments:
        here, there = current[by] == segment, past[by] == segment
        for column in judged:
            extra_now[in_segment(column, segment)] = current[column].where(here)
            extra_then[in_segment(column, segment)] = past[column].where(there)
        holdout_loss = per_segment_loss.get(segment)
        extra_now[in_segment(error, segment)] = current[error].where(here)
        extra_then[in_segment(error, segment)] = pd.Series(holdout_loss, past.index).where(there)
    current = pd.concat([current, pd.DataFrame(extra_now, current.index)], axis=1)
    past = pd.concat([past, pd.DataFrame(extra_then, past.index)], axis=1)

    as_categories = [c for c in current if _base(c) in categorical]
    definition = DataDefinition(
        numerical_columns=[c for c in current if c not in as_categories],
        categorical_columns=as_categories,
    )
    drift = settings.drift
    compared = [c for c in current if _base(c) in judged or _base(c) == by]
    # A column with no value in a window (a field a source stopped sending) has no
    # distribution to compare: its missing-value check below is what fails.
    if empty := [c for c in compared if current[c].isna().all() or past[c].isna().all()]:
        compared = [c for c in compared if c not in empty]
        notes.append(f"no values to compare, drift not judged: {', '.join(empty)}")
    metrics: list[Any] = [
        DataDriftPreset(
            columns=compared,
            drift_share=int(10_000 / len(compared)) / 10_000,  # the headline: one column is drift
            num_method="wasserstein",
            cat_method="jensenshannon",
            num_threshold=drift.numeric_threshold,
            cat_threshold=drift.categorical_threshold,
            per_column_threshold={c: drift.segment_threshold for c in current if " [" in c},
        )
    ]
    share = [lte(settings.out_of_range_share)]
    given = [name for name in names if name not in empty]  # others: none out
    for name in [name for name in numeric if name in given]:
        low, high = reference[name].min(), reference[name].max()
        metrics.append(OutRangeValueCount(column=name, left=low, right=high, share_tests=share))
    for name in [name for name in categorical if name in given]:  # missing: below
        seen = sorted(reference[name].dropna().unique())
        tests = [lte(_unseen_limit(reference[name], settings))] if name in many else share
        metrics.append(OutListValueCount(column=name, values=seen, share_tests=tests))
    for name in [f.name for f in inputs if f.nullable and f.name in features]:
        # Missing more often than in training is an input training did not see either: a
        # source that stopped sending a field fails silently otherwise.
        trained = float(reference[name].isna().mean())
        noise = NOISE * (trained * (1 - trained) / len(current)) ** 0.5  # a window's own spread
        limit = min(trained + settings.out_of_range_share + noise, 1.0)
        metrics.append(MissingValueCount(column=name, share_tests=[lte(round(limit, 4))]))
    metrics += _error_checks(current, record, settings, segments, notes, task.loss)

    model = f"{record.model_name} {record.model_version}"
    report = Report(metrics, metadata={"model": model}, include_tests=True)  # drift: its own
    with warnings.catch_warnings():
        if empty:  # Evidently's statistics of a column without values divide by zero
            warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
        snapshot = report.run(
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(past, data_definition=definition),
            tags=[record.model_name, f"version {record.model_version}"],
        )
        result = snapshot.dict()
    return snapshot, findings(result, names) | {"notes": notes}


def _with_derived(live, reference, use_case: UseCase, notes: list[str]):
    """Both windows with the derived features' columns, and their names; none (and a
    note) where the feature code gives a window no value it can judge."""
    contract = use_case.contract
    if not contract.derived:
        return live, reference, []
    try:
        return (
            contract.with_derived(live, check=False),
            contract.with_derived(reference, check=False),
            contract.derived_names,
        )
    except (InvalidDerived, FeatureCodeFailed) as problem:
        notes.append(f"derived features not judged: {' '.join(str(problem).split())}")
        return live, reference, []


def logged_scores(live: pd.DataFrame, task: Task) -> np.ndarray:
    """The logged predictions as Task.scores gives them: a multiclass model's probabilities
    (NaN for a record without them, logged before they were), else the one number."""
    if task.name != "multiclass":
        return live[PREDICTION].to_numpy(dtype=float)
    unknown = [np.nan] * len(task.classes)
    return np.array([unknown if p is None else p for p in live[PROBABILITIES]], dtype=float)


def _unseen_limit(trained_on: pd.Series, settings: MonitorParams) -> float:
    """The share of a high-cardinality feature's live values training may not have seen:
    as many as training itself predicts (Good-Turing: the share of its rows whose value it
    has once, the chance that the next value is new), plus `monitor.unseen_share`."""
    counts = trained_on.value_counts()
    expected = float((counts == 1).sum() / max(int(counts.sum()), 1))
    return round(min(expected + settings.unseen_share, 1.0), 4)


def _error_checks(current, record, settings, segments, notes, loss: str) -> list:
    """The live loss (MAE, log-loss), overall and by segment, where enough outcomes are known;
    at most monitor.error.max_ratio times the holdout's, plus NOISE standard errors."""
    limit, ratio = settings.error.min_outcomes, settings.error.max_ratio
    error, label, holdout = LOSS_COLUMNS[loss], LABELS[loss], record.holdout.get(loss)
    if holdout is None:
        notes.append(f"the model has no holdout {label} on record: live error not judged")
        return []
    if (known := int(current[error].notna().sum())) < limit:
        notes.append(
            f"{known} outcomes known (monitor.error.min_outcomes {limit}): error not judged"
        )
        return []
    baseline = record.baseline
    errors = baseline.get(f"{loss}_se_by_segment", {})

    def bound(figure: float, standard_error: float | None) -> float:
        # A small holdout's figure is noisy (a log-loss most: one confident miss in 400 rows
        # moves it by 0.01): allowed NOISE standard errors above it, where recorded.
        return round(ratio * figure + NOISE * (standard_error or 0.0), 4)

    checks = [MeanValue(column=error, tests=[lte(bound(holdout, baseline.get(f"{loss}_se")))])]
    per_segment = baseline.get(f"{loss}_by_segment", {})
    for segment in segments:
        column = in_segment(error, segment)
        if segment not in per_segment:
            notes.append(f"{segment}: no holdout {label} recorded at promotion, error not judged")
        elif current[column].notna().sum() >= limit:
            threshold = bound(per_segment[segment], errors.get(segment))
            checks.append(MeanValue(column=column, tests=[lte(threshold)]))
    return checks


def findings(result: dict[str, Any], features: list[str]) -> dict[str, Any]:
    """What failed, and what moved: features, segments, the prediction, the error."""
    values = {metric["id"]: metric["value"] for metric in result["metrics"]}
    # The share of drifted columns restates the columns' own tests: not a check of its own.
    tests = [
        test
        for test in result["tests"]
        if not test["metric_config"]["params"]["type"].endswith("DriftedColumnsCount")
    ]
    failed = []
    for test in tests:
        if str(getattr(test["status"], "value", test["status"])) not in FAILING:
            continue
        params = test["metric_config"]["params"]
        column = params.get("column")
        match = IN_SEGMENT.match(column or "")
        failed.append(
            {
                "check": _kind(params["type"], column),
                "column": match["column"] if match else column,
                "segment": match["segment"] if match else None,
                "value": values.get(test["metric_config"]["metric_id"]),
                "description": test["description"],
            }
        )
    moved_features = {f["column"] for f in failed if f["column"] in features}
    return {
        "alarm": bool(failed),
        "tests": {"total": len(tests), "failed": len(failed)},
        "moved": {
            "features": sorted(moved_features),
            "segments": sorted({f["segment"] for f in failed if f["segment"]}),
            "prediction": any(f["column"] in (PREDICTION, PREDICTED_CLASS) for f in failed),
            "error": sorted({f["segment"] or "overall" for f in failed if f["check"] == "error"}),
        },
        "failed": failed,
    }


def _kind(metric_type: str, column: str | None) -> str:
    if "Out" in metric_type:
        return "range"
    if "Missing" in metric_type:
        return "missing"
    if _base(column or "") in LOSS_COLUMNS.values():
        return "error"
    return "drift"


def _base(column: str) -> str:
    match = IN_SEGMENT.match(column)
    return match["column"] if match else column
