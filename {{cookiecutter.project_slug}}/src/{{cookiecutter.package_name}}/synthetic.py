"""Deterministic synthetic orders, so the pipeline runs with nothing downloaded.

The default data source (`data.source: synthetic`). Point `data.source` at your
own table to replace it (see conf/data/); everything downstream only relies on
the feature contract in usecase.py.
"""

import numpy as np
import pandas as pd

CITY_SHARE = {"lisbon": 0.25, "porto": 0.15, "madrid": 0.25, "barcelona": 0.2, "milan": 0.15}
CITY_SPEED_KMH = {"lisbon": 17.0, "porto": 20.0, "madrid": 22.0, "barcelona": 19.0, "milan": 16.0}
WEATHER_SHARE = {"clear": 0.7, "rain": 0.18, "storm": 0.04, "fog": 0.08}
WEATHER_SPEED = {"clear": 1.0, "rain": 0.85, "storm": 0.6, "fog": 0.9}
# Orders cluster around lunch and dinner.
HOUR_WEIGHTS = np.array([1, 1, 1, 1, 1, 1, 1, 2, 3, 3, 4, 6, 9, 9, 6, 4, 4, 5, 7, 10, 10, 7, 4, 2])


def _choice(rng: np.random.Generator, shares: dict[str, float], size: int) -> np.ndarray:
    return rng.choice(list(shares), size=size, p=list(shares.values()))


def generate_orders(n_orders: int, seed: int) -> pd.DataFrame:
    """`n_orders` labelled orders; the same seed always gives the same table."""
    rng = np.random.default_rng(seed)
    city = _choice(rng, CITY_SHARE, n_orders)
    weather = _choice(rng, WEATHER_SHARE, n_orders)
    hour = rng.choice(24, size=n_orders, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    weekday = rng.integers(0, 7, size=n_orders)
    distance = np.clip(rng.lognormal(np.log(3.0), 0.6, n_orders), 0.1, 30.0)
    prep = np.clip(rng.gamma(6.0, 2.5, n_orders), 1.0, 90.0)
    items = np.clip(rng.poisson(2.0, n_orders) + 1, 1, 50)
    rush = np.isin(hour, [12, 13, 19, 20])
    courier_load = np.clip(rng.gamma(2.0, 0.5, n_orders) + 0.8 * rush, 0.0, 10.0)

    speed = np.vectorize(CITY_SPEED_KMH.get)(city) * np.vectorize(WEATHER_SPEED.get)(weather)
    speed = speed * np.where(rush, 0.75, 1.0) * np.where(weekday >= 5, 1.08, 1.0)
    courier_wait = 4.0 * courier_load**1.5
    # The courier picks up when both the food and the courier are ready.
    minutes = (
        np.maximum(prep, courier_wait)
        + distance / speed * 60.0
        + 2.0
        + 0.4 * items
        + rng.gamma(2.0, 1.5, n_orders)
    )

    return pd.DataFrame(
        {
            "order_id": np.arange(1, n_orders + 1),
            "distance_km": distance.round(2),
            "prep_time_min": prep.round(1),
            "items": items,
            "hour": hour,
            "weekday": weekday,
            "courier_load": courier_load.round(2),
            "city": city,
            "weather": weather,
            "delivery_minutes": np.clip(minutes, 1.0, 240.0).round(1),
        }
    )
