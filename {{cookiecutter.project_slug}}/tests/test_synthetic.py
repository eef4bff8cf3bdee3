"""The example data generator: the one test that depends on it, while it is the data source."""

import pytest
import yaml

from {{ cookiecutter.package_name }}.core.params import compose_params
from {{ cookiecutter.package_name }}.synthetic import generate_orders

from .conftest import CONTRACT, PROJECT

SOURCE = yaml.safe_load(compose_params(PROJECT / "conf"))["data"]["source"]
pytestmark = pytest.mark.skipif(
    SOURCE != "synthetic", reason=f"data.source is {SOURCE}: the example generator is not in use"
)


def test_generated_orders_honour_the_contract() -> None:
    orders = generate_orders(2000, seed=7)
    assert len(CONTRACT.validate(orders, source="synthetic")) == 2000


def test_the_same_seed_gives_the_same_table() -> None:
    assert generate_orders(50, seed=3).equals(generate_orders(50, seed=3))
