"""The runtime's own use case: small, but with every kind of feature the contract knows.

A float, an int and two categorical features (one of them the segment), so every
encoding, every request check and every per-segment path runs; an example-data
generator of its own (not Contract.samples), and two monitoring scenarios. The tests
name it with GOLDENPATH_USE_CASE=tests.usecase:USE_CASE (conftest.py), as a project
names its own through its entry point.
"""

from dataclasses import replace
from datetime import datetime
from functools import partial

import numpy as np
import pandas as pd

from goldenpath import Contract, Derived, Feature, UseCase

CITIES = ("lisbon", "porto", "madrid")
SPEED_KMH = {"lisbon": 17.0, "porto": 20.0, "madrid": 22.0}
WEATHER = ("clear", "rain")

CONTRACT = Contract(
    features=(
        Feature("distance_km", "Road distance", float, 0.1, 30.0),
        Feature("items", "Items in the order", int, 1, 20),
        Feature("city", "City of the restaurant", str, categories=CITIES),
        Feature("weather", "Weather at the order", str, categories=WEATHER),
    ),
    target=Feature("delivery_minutes", "Minutes to delivery", float, 1.0, 240.0),
    key="order_id",
    example={"distance_km": 3.2, "items": 2, "city": "lisbon", "weather": "rain"},
)


def generate_orders(rows: int, seed: int, slow_city: str | None = None) -> pd.DataFrame:
    """`rows` labelled orders, the same for the same seed; `slow_city` at half speed."""
    rng = np.random.default_rng(seed)
    city = rng.choice(CITIES, rows)
    weather = rng.choice(WEATHER, rows, p=[0.8, 0.2])
    distance = np.clip(rng.lognormal(np.log(3.0), 0.6, rows), 0.1, 30.0).round(2)
    items = rng.integers(1, 8, rows)
    speed = np.array([SPEED_KMH[name] for name in city]) * np.where(weather == "rain", 0.8, 1.0)
    speed = np.where(city == slow_city, speed / 2, speed)
    minutes = 10 + distance / speed * 60 + 0.5 * items + rng.gamma(2.0, 1.0, rows)
    return pd.DataFrame(
        {
            "order_id": np.arange(1, rows + 1),
            "distance_km": distance,
            "items": items,
            "city": city,
            "weather": weather,
            "delivery_minutes": np.clip(minutes, 1.0, 240.0).round(1),
        }
    )


USE_CASE = UseCase(
    name="eta-test",
    experiment="eta-test",
    contract=CONTRACT,
    segment="city",
    title="ETA (the runtime's tests)",
    example_data=generate_orders,
    scenarios={"normal": generate_orders, "changed": partial(generate_orders, slow_city="porto")},
)


# The classifications' own features, which the regression's contract has not: a bool, one
# of each kind that may be missing, and an id with too many values to list.
PRIORITY = Feature("priority", "The customer paid for priority", bool)
RESTAURANT = Feature("restaurant", "The restaurant's id", str, high_cardinality=True)
ORDERED_AT = Feature(
    "ordered_at", "When the order was placed", datetime, calendar=("hour", "weekday")
)
RESTAURANTS = 2000
NULLABLE = (
    Feature("prep_minutes", "Preparation time the kitchen reported", float, 0, 40, nullable=True),
    Feature("vehicle", "The courier's vehicle, where known", str, categories=("bike", "car"),
            nullable=True),
    Feature("gift", "Marked as a gift, where asked", bool, nullable=True),
)  # fmt: skip


def _labelled(target: str, edges: list[float], classes: tuple[str, ...]):
    """The orders, their minutes to delivery replaced by a class: `classes[i]` for the
    minutes between `edges[i - 1]` and `edges[i]` (a priority order's five fewer, a long
    preparation's more, a car's fewer, a slow kitchen's more (one restaurant in three), and
    dinner time's more).
    One in ten of each nullable feature is missing."""

    def generate(rows: int, seed: int) -> pd.DataFrame:
        orders = generate_orders(rows, seed)
        rng = np.random.default_rng(seed + 1)
        priority = rng.random(rows) < 0.3
        prep = rng.uniform(0, 40, rows).round(1)
        car = rng.random(rows) < 0.4
        restaurant = rng.zipf(1.3, rows) % RESTAURANTS  # a few big ones, a long tail
        slow_kitchen = 4 * (restaurant % 3 == 0)  # one in three restaurants is slow
        seconds = rng.integers(0, 90 * 24 * 3600, rows)  # a quarter's orders
        ordered_at = np.datetime64("2026-01-01T00:00:00") + seconds.astype("timedelta64[s]")
        dinner = np.isin(seconds // 3600 % 24, (19, 20, 21))
        minutes = orders.pop("delivery_minutes") - 5 * priority + (prep - 20) / 4 - 3 * car
        minutes += slow_kitchen + 4 * dinner
        labels = np.array(classes, dtype=object)[np.digitize(minutes, edges)]
        missing = rng.random((3, rows)) < 0.1
        nullable = {
            "prep_minutes": np.where(missing[0], np.nan, prep),
            "vehicle": np.where(missing[1], None, np.where(car, "car", "bike")),
            "gift": np.where(missing[2], None, rng.random(rows) < 0.2),
        }
        ids = np.char.add("r", restaurant.astype(str))
        known = {"restaurant": ids, "ordered_at": ordered_at}
        return orders.assign(priority=priority, **nullable, **known, **{target: labels})

    return generate


def _classification(name: str, target: Feature, edges: list[float], task: str) -> UseCase:
    features = (*CONTRACT.features, PRIORITY, *NULLABLE, RESTAURANT, ORDERED_AT)
    example = CONTRACT.example | {"priority": False, "prep_minutes": 12.5, "vehicle": None}
    example |= {"gift": None, "restaurant": "r17", "ordered_at": "2026-03-06T20:15:00"}
    contract = Contract(features, target, CONTRACT.key, example, task)
    generate = _labelled(target.name, edges, target.categories)
    return UseCase(name, name, contract, "city", example_data=generate)


# The same orders as two classifications: late or not (binary), and how late (multiclass).
LATE = Feature("late", "Delivered in more than 30 minutes", str, categories=("no", "yes"))
LATE_USE_CASE = _classification("late-test", LATE, [30.0], "binary")
LATENESS = Feature(
    "lateness", "Under 20, 20 to 30, over 30 minutes", str, categories=("early", "on_time", "late")
)
LATENESS_USE_CASE = _classification("lateness-test", LATENESS, [20.0, 30.0], "multiclass")


def ride_minutes(rows: pd.DataFrame) -> pd.Series:
    """A derived feature: the ride at the city's usual speed."""
    return rows["distance_km"] / rows["city"].map(SPEED_KMH) * 60


RIDE = Derived(
    Feature("ride_minutes", "The ride at the usual speed", float, 0.0, 120.0), ride_minutes
)
# The same use case with feature code: the same table, another model.
RIDE_USE_CASE = replace(USE_CASE, contract=replace(CONTRACT, derived=(RIDE,)))
# Columns a scored table carries to its scores, which the model never takes.
NOTED_USE_CASE = replace(USE_CASE, contract=replace(CONTRACT, passthrough=("note", "shop_ref")))
CLASHING_USE_CASE = replace(USE_CASE, contract=replace(CONTRACT, passthrough=("model_version",)))
