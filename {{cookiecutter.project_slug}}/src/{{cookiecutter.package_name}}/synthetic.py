"""Deterministic synthetic orders, so the pipeline runs with nothing downloaded.

The default data source (`data.source: synthetic`). Point `data.source` at your
own table to replace it (see conf/data/); everything downstream only relies on
the feature contract in usecase.py. Each city has its own dynamics: speed, how
much rush hours slow it down, how long couriers take to arrive when busy, and (to
simulate a week unlike the training data, `make simulate WEEK=changed`) its own
weather and how many couriers work there.
"""

from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class City:
    share: float  # of all orders
    speed_kmh: float
    rush_slowdown: float  # speed factor at lunch and dinner
    courier_wait: float  # minutes per (orders per courier)^1.5
    weather: dict[str, float] = field(default_factory=dict)  # its own shares; {}: WEATHER_SHARE
    couriers: float = 1.0  # courier supply: 0.5, half the couriers, twice the load on each


CITIES = {
    "lisbon": City(0.25, 17.0, 0.70, 4.0),
    "porto": City(0.15, 20.0, 0.80, 3.5),
    "madrid": City(0.25, 22.0, 0.75, 4.5),
    "barcelona": City(0.20, 19.0, 0.72, 4.0),
    "milan": City(0.15, 16.0, 0.78, 5.0),
}
WEATHER_SHARE = {"clear": 0.7, "rain": 0.18, "storm": 0.04, "fog": 0.08}
WEATHER_SPEED = {"clear": 1.0, "rain": 0.85, "storm": 0.6, "fog": 0.9}
# Orders cluster around lunch and dinner.
HOUR_WEIGHTS = np.array([1, 1, 1, 1, 1, 1, 1, 2, 3, 3, 4, 6, 9, 9, 6, 4, 4, 5, 7, 10, 10, 7, 4, 2])
{%- if cookiecutter.example == "late_delivery" %}
PROMISED_MINUTES = 45.0  # an order delivered later is late (about one in six)
UNANNOUNCED = 0.08  # the share of orders whose restaurant announced no preparation time
RESTAURANTS = 2000  # restaurant ids: a few big ones, a long tail
PRIORITY_SHARE = 0.15  # orders whose customer paid for priority: the first free courier
{%- endif %}


def _choice(rng: np.random.Generator, shares: dict[str, float], size: int) -> np.ndarray:
    return rng.choice(list(shares), size=size, p=list(shares.values()))


{% if cookiecutter.example == "late_delivery" -%}
def _times(rng: np.random.Generator, hour: np.ndarray, weekday: np.ndarray) -> np.ndarray:
    """Local times in the four weeks from Monday 2 March 2026 on each order's weekday and
    hour, to the second."""
    days = 7 * rng.integers(0, 4, len(hour)) + weekday
    seconds = days * 86_400 + hour * 3_600 + rng.integers(0, 3_600, len(hour))
    return np.datetime64("2026-03-02T00:00:00") + seconds.astype("timedelta64[s]")


{% endif -%}
def many_cities(n: int, seed: int = 0) -> dict[str, City]:
    """`n` cities named city-001, city-002... with dynamics of their own (for scale tests)."""
    rng = np.random.default_rng(seed)
    shares = rng.dirichlet(np.full(n, 2.0))
    return {
        f"city-{i + 1:03d}": City(
            float(shares[i]),
            float(rng.uniform(14, 24)),
            float(rng.uniform(0.6, 0.9)),
            float(rng.uniform(3, 5.5)),
        )
        for i in range(n)
    }


def generate_orders(n_orders: int, seed: int, cities: dict[str, City] = CITIES) -> pd.DataFrame:
    """`n_orders` labelled orders{% if cookiecutter.example == "late_delivery" %} (late or not){% endif %}; the same seed always gives the same table."""
    rng = np.random.default_rng(seed)
    city = _choice(rng, {name: c.share for name, c in cities.items()}, n_orders)
    weather = _choice(rng, WEATHER_SHARE, n_orders)
    for name, dynamics in cities.items():
        if dynamics.weather and (here := city == name).any():
            weather[here] = _choice(rng, dynamics.weather, int(here.sum()))
    hour = rng.choice(24, size=n_orders, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    weekday = rng.integers(0, 7, size=n_orders)
    distance = np.clip(rng.lognormal(np.log(3.0), 0.6, n_orders), 0.1, 30.0)
    prep = np.clip(rng.gamma(6.0, 2.5, n_orders), 1.0, 90.0)
    items = np.clip(rng.poisson(2.0, n_orders) + 1, 1, 50)
{%- if cookiecutter.example == "late_delivery" %}
    restaurant = rng.zipf(1.4, n_orders) % RESTAURANTS
    # Each kitchen takes its own multiple of the time it announces, the same in every run.
    kitchen = np.random.default_rng(RESTAURANTS).uniform(0.8, 1.6, RESTAURANTS)[restaurant]
{%- endif %}
    rush = np.isin(hour, [12, 13, 19, 20])
    supply = np.array([cities[name].couriers for name in city])
    courier_load = np.clip((rng.gamma(2.0, 0.5, n_orders) + 0.8 * rush) / supply, 0.0, 10.0)

    fields = ("speed_kmh", "rush_slowdown", "courier_wait")
    dynamics = pd.DataFrame([{k: getattr(cities[name], k) for k in fields} for name in city])
    speed = dynamics["speed_kmh"].to_numpy() * np.vectorize(WEATHER_SPEED.get)(weather)
    speed *= np.where(rush, dynamics["rush_slowdown"], 1.0) * np.where(weekday >= 5, 1.08, 1.0)
    courier_wait = dynamics["courier_wait"].to_numpy() * courier_load**1.5
{%- if cookiecutter.example == "late_delivery" %}
    # Drawn from a stream of its own: every other column is what it was without it.
    priority = np.random.default_rng([seed, 1]).random(n_orders) < PRIORITY_SHARE
    courier_wait = np.where(priority, 0.3, 1.0) * courier_wait
{%- endif %}
    # The courier picks up when both the food and the courier are ready.
    minutes = (
        np.maximum({% if cookiecutter.example == "late_delivery" %}prep * kitchen{% else %}prep{% endif %}, courier_wait)
        + distance / speed * 60.0
        + 2.0
        + 0.4 * items
        + rng.gamma(2.0, 1.5, n_orders)
    )

    return pd.DataFrame(
        {
            "order_id": np.arange(1, n_orders + 1),
            "distance_km": distance.round(2),
{%- if cookiecutter.example == "late_delivery" %}
            # The food takes its time whether announced or not: only the feature is missing.
            "prep_time_min": np.where(rng.random(n_orders) < UNANNOUNCED, np.nan, prep.round(1)),
{%- else %}
            "prep_time_min": prep.round(1),
{%- endif %}
            "items": items,
{%- if cookiecutter.example == "late_delivery" %}
            "ordered_at": _times(rng, hour, weekday),
{%- else %}
            "hour": hour,
            "weekday": weekday,
{%- endif %}
            "courier_load": courier_load.round(2),
            "city": city,
            "weather": weather,
{%- if cookiecutter.example == "late_delivery" %}
            "restaurant_id": np.char.add("r", np.char.zfill(restaurant.astype(str), 4)),
            "priority": priority,
            "late": np.where(minutes > PROMISED_MINUTES, "yes", "no"),
{%- else %}
            "delivery_minutes": np.clip(minutes, 1.0, 240.0).round(1),
{%- endif %}
        }
    )


STORM = {"storm": 0.7, "rain": 0.3}
# The weeks `make simulate` replays: one like the training data, and a storm in Porto,
# where streets flood and most couriers stay home (its weather, courier load and
# delivery times move; the other cities do not).
WEEKS = {
    "normal": generate_orders,
    "changed": partial(
        generate_orders,
        cities=CITIES
        | {"porto": replace(CITIES["porto"], speed_kmh=11.0, weather=STORM, couriers=0.4)},
    ),
}
