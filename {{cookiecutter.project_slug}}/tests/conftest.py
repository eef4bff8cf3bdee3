from pathlib import Path

import mlflow
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.contract import FEATURE_NAMES, TARGET
from {{ cookiecutter.package_name }}.modeling import build_model, skops_trusted_types
from {{ cookiecutter.package_name }}.synthetic import generate_orders

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def orders() -> pd.DataFrame:
    return generate_orders(600, seed=7)


@pytest.fixture(scope="session")
def model_dir(orders: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small fitted model saved as MLflow saves it (skops)."""
    model = build_model(
        {
            "_target_": "sklearn.ensemble.HistGradientBoostingRegressor",
            "max_iter": 30,
            "random_state": 0,
        }
    )
    model.fit(orders[FEATURE_NAMES], orders[TARGET.name])
    path = tmp_path_factory.mktemp("served") / "model"
    mlflow.sklearn.save_model(
        model,
        path,
        skops_trusted_types=skops_trusted_types(model),
        metadata={"git.commit": "abc123", "dvc.data_md5": "d41d8"},
    )
    return path
