"""What a model learnt from and how it did: what live traffic is compared with.

- The training profile, recorded in the model's own metadata when it is trained,
  so it travels with the model (registry, champion directory, serving image): each
  numeric feature's range and each listed categorical feature's values in the training
  rows (not a high-cardinality id's thousands), each nullable feature's missing share.
  The service counts inputs outside it.
- The baseline, recorded with the champion at promotion (core/promotion.py): the
  mean and spread of its holdout predictions and its holdout MAE by segment (a
  classifier's: of its probabilities, and its log-loss by segment), with the standard
  error of each figure (a small holdout's is noisy: `make monitor` allows for it). The
  alerts and `make monitor` compare live predictions and errors with it.
"""

from typing import Any

import numpy as np
import pandas as pd

from .contract import Contract
from .tasks import Task

PROFILE = "training_profile"  # the key of the profile in a model's metadata


def training_profile(rows: pd.DataFrame, contract: Contract) -> dict[str, Any]:
    """Ranges of the numeric features and values of the categorical ones in `rows` (a
    missing value is neither), and the share of each nullable feature's rows missing."""
    ranges = {name: [float(rows[name].min()), float(rows[name].max())] for name in contract.numeric}
    listed = contract.listed  # an id's thousands of values: judged by make monitor, not here
    seen = {name: sorted(map(str, rows[name].dropna().unique())) for name in listed}
    profile = {"rows": len(rows), "ranges": ranges, "categories": seen}
    if nullable := [feature.name for feature in contract.features if feature.nullable]:
        profile["missing"] = {name: round(float(rows[name].isna().mean()), 4) for name in nullable}
    return profile


def baseline(
    holdout: pd.DataFrame, predicted: np.ndarray, contract: Contract, segment: str, task: Task
) -> dict[str, Any]:
    """The model's holdout scores and errors, overall and by `segment`.

    A regression's: its predictions' mean and spread, its MAE by segment. A classifier's:
    the mean and spread of its probability of the positive class (binary) or of its most
    likely class (multiclass), and its log-loss by segment.
    """
    actual, shown = holdout[contract.target.name], task.headline(predicted)
    figure = task.loss  # the mean of a loss per row: MAE, log-loss
    losses = pd.Series(task.losses(actual, predicted), holdout.index)
    groups = losses.groupby(holdout[segment], observed=True, sort=True)
    return {
        "prediction_mean": round(float(np.mean(shown)), 4),
        "prediction_std": round(float(np.std(shown)), 4),
        f"{figure}_by_segment": _rounded(groups.mean()),
        f"{figure}_se": round(float(losses.sem()), 4),
        f"{figure}_se_by_segment": _rounded(groups.sem().fillna(0.0)),
    }


def _rounded(by_segment: pd.Series) -> dict[str, float]:
    return {str(value): round(float(figure), 4) for value, figure in by_segment.items()}
