"""The example data generator (synthetic.py) honours the contract while it is the data
source (`data.source: synthetic`, conf/data/), for ingest and the weeks `make simulate`
replays. Your own table in data.source? These skip: update synthetic.py, or delete it
with this file (README, "Your own data")."""

import pytest

from {{ cookiecutter.package_name }}.synthetic import {% if cookiecutter.example == "late_delivery" %}PROMISED_MINUTES, UNANNOUNCED, {% endif %}WEEKS, generate_orders
from {{ cookiecutter.package_name }}.usecase import CONTRACT


@pytest.fixture(autouse=True)
def generator_in_use(params) -> None:
    if params.data.source != "synthetic":
        pytest.skip(f"data.source is {params.data.source}: the example generator is not in use")


def test_generated_orders_honour_the_contract() -> None:
    orders = generate_orders(2000, seed=7)
    assert len(CONTRACT.validate(orders, source="synthetic")) == 2000


def test_every_week_to_replay_honours_the_contract() -> None:
    for name, week in WEEKS.items():
        assert len(CONTRACT.validate(week(500, 1), source=f"week {name}")) == 500


def test_the_same_seed_gives_the_same_table() -> None:
    assert generate_orders(50, seed=3).equals(generate_orders(50, seed=3))
{%- if cookiecutter.example == "late_delivery" %}


def test_some_orders_are_late_and_more_in_the_changed_week() -> None:
    """Both classes to learn from, and a week unlike the training data to monitor."""
    normal, changed = (WEEKS[name](4000, 5) for name in ("normal", "changed"))
    assert 0.05 < (normal["late"] == "yes").mean() < 0.4
    assert (changed["late"] == "yes").mean() > (normal["late"] == "yes").mean()


def test_the_target_says_when_the_generator_calls_an_order_late() -> None:
    assert f"{PROMISED_MINUTES:g} minutes" in CONTRACT.target.description


def test_some_preparation_times_are_not_announced() -> None:
    missing = generate_orders(4000, seed=5)["prep_time_min"].isna().mean()
    assert abs(missing - UNANNOUNCED) < 0.02


def test_restaurants_are_many_and_a_few_are_big() -> None:
    counts = generate_orders(20_000, seed=5)["restaurant_id"].value_counts()
    assert len(counts) > 500 and counts.iloc[:10].sum() > 0.3 * counts.sum()
{%- endif %}
