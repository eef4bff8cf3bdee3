"""The project's feature code: features the model takes that the rows do not carry.

Each function takes the validated rows (a DataFrame of the contract's features) and
gives one value per row; usecase.py declares what it gives (`Derived`). The model
computes them itself, as its first step: training, the service, batch scoring and the
monitor run this code, and no other. The model records this file's version: edit it,
and `make repro` trains a model with the new code before any serves (a model trained
with another version is refused where it loads).
"""

import pandas as pd

# A courier's usual speed in each weather, km/h: what a ride takes before traffic.
SPEED_KMH = {"clear": 18.0, "rain": 15.0, "storm": 11.0, "fog": 16.0}


def ride_minutes(rows: pd.DataFrame) -> pd.Series:
    """The ride from restaurant to customer at the weather's usual speed, in minutes."""
    return rows["distance_km"] / rows["weather"].map(SPEED_KMH) * 60
