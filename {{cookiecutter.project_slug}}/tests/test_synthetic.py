"""The example data generator (data.source: synthetic): the one test that depends on it."""

from {{ cookiecutter.package_name }}.synthetic import generate_orders

from .conftest import CONTRACT


def test_generated_orders_honour_the_contract() -> None:
    orders = generate_orders(2000, seed=7)
    assert len(CONTRACT.validate(orders, source="synthetic")) == 2000


def test_the_same_seed_gives_the_same_table() -> None:
    assert generate_orders(50, seed=3).equals(generate_orders(50, seed=3))
