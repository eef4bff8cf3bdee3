"""The encoding follows the model's family: numbers scaled for the models that weigh them."""

import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.preprocessing import StandardScaler

from goldenpath.core.modeling import build_model
from goldenpath.core.params import InvalidParams, ModelParams

from .usecase import CONTRACT

TREES = [
    "sklearn.ensemble.HistGradientBoostingRegressor",
    "sklearn.ensemble.RandomForestRegressor",
    "sklearn.ensemble.GradientBoostingRegressor",
    "sklearn.tree.DecisionTreeRegressor",
    "lightgbm.LGBMRegressor",
    "tests.test_modeling.TeamForest",
]
WEIGHING = ["sklearn.linear_model.Ridge", "sklearn.neighbors.KNeighborsRegressor"]


class TeamForest(RandomForestRegressor):
    """A team's own tree model, in its own module: still trees."""


def encoded(target: str) -> tuple[object, np.ndarray]:
    """The fitted model's numeric transformer, and what its encoding gives on sample rows."""
    rows = CONTRACT.samples(200)
    model = build_model(CONTRACT, ModelParams.model_validate({"_target_": target}))
    model.fit(rows[CONTRACT.feature_names], rows[CONTRACT.target.name])
    numbers = {name: step for name, step, _ in model[0].transformers}["numeric"]  # as given
    return numbers, model[0].transform(rows[CONTRACT.feature_names])


@pytest.mark.parametrize("target", TREES)
def test_trees_take_the_numbers_as_they_are(target: str) -> None:
    numbers, table = encoded(target)
    rows = CONTRACT.samples(200)
    assert numbers == "passthrough"
    assert np.array_equal(table[:, -len(CONTRACT.numeric) :], rows[CONTRACT.numeric].to_numpy())


@pytest.mark.parametrize("target", WEIGHING)
def test_models_that_weigh_numbers_get_them_scaled(target: str) -> None:
    numbers, table = encoded(target)
    assert isinstance(numbers, StandardScaler)
    assert np.allclose(table[:, -len(CONTRACT.numeric) :].mean(axis=0), 0)


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"_target_": "sklearn.linear_model.LogisticRegression", "C": -1}, "model.C: The 'C' "),
        ({"_target_": "sklearn.linear_model.Ridge", "solver": "fast"}, "model.solver: The "),
    ],
)
def test_a_value_the_estimator_refuses_is_refused_before_fitting_by_name(config, problem) -> None:
    with pytest.raises(InvalidParams) as invalid:
        build_model(CONTRACT, ModelParams.model_validate(config))
    assert f"  - {problem}" in str(invalid.value)
    assert "Got " in str(invalid.value)  # scikit-learn's own words: what it takes, what it got
