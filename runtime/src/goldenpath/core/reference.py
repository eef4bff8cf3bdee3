"""What a model learnt from and how it did: what live traffic is compared with.

- The training profile, recorded in the model's own metadata when it is trained,
  so it travels with the model (registry, champion directory, serving image): each
  numeric feature's range and each categorical feature's values in the training
  rows. The service counts inputs outside it.
- The baseline, recorded with the champion at promotion (core/promotion.py): the
  mean and spread of its holdout predictions and its holdout MAE by segment. The
  alerts and `make monitor` compare live predictions and errors with it.
"""

from typing import Any

import numpy as np
import pandas as pd

from .contract import Contract

PROFILE = "training_profile"  # the key of the profile in a model's metadata


def training_profile(rows: pd.DataFrame, contract: Contract) -> dict[str, Any]:
    """Ranges of the numeric features and values of the categorical ones in `rows`."""
    ranges = {name: [float(rows[name].min()), float(rows[name].max())] for name in contract.numeric}
    seen = {name: sorted(map(str, rows[name].unique())) for name in contract.categorical}
    return {"rows": len(rows), "ranges": ranges, "categories": seen}


def baseline(
    holdout: pd.DataFrame, predicted: np.ndarray, contract: Contract, segment: str
) -> dict[str, Any]:
    """The model's holdout predictions and errors, overall and by `segment`."""
    errors = (holdout[contract.target.name] - predicted).abs()
    by_segment = errors.groupby(holdout[segment], observed=True, sort=True).mean()
    return {
        "prediction_mean": round(float(np.mean(predicted)), 4),
        "prediction_std": round(float(np.std(predicted)), 4),
        "mae_by_segment": {str(value): round(float(mae), 4) for value, mae in by_segment.items()},
    }
