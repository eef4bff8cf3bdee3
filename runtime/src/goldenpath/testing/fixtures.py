"""The goldenpath pytest plugin: fixtures built from the project's use case alone.

The runtime registers this module as a pytest plugin (entry point `pytest11`, named
`goldenpath`): pytest loads it in every session where goldenpath is installed, and
`-p no:goldenpath` turns it off. A project's tests, the suites (`suites/`) and the
team's own, get these fixtures:

| fixture | what it is |
|---|---|
| `project_root` | the project's folder (pytest's rootdir: where its pyproject.toml is) |
| `params` | the parameters `conf/` composes, typed (`params.data.source`) |
| `use_case`, `contract` | the project's `USE_CASE` (its entry point) and its contract |
| `orders` | 600 labelled rows spread over every feature's range (`Contract.samples`) |
| `model_dir` | a small model fitted on `orders`, saved as the pipeline saves a champion |
| `model_set` | `model_dir` with a segment's own model that serves and one that does not |
| `prediction_log` | where the services tests start log their predictions (never `logs/`) |

and these parameters, drawn from the project's files when a test asks for them:
`model_config` (each `conf/model/*.yaml`), `conf_option` (each other option of `conf/`,
as `group=option`), `dvc_stage` (each stage of `dvc.yaml`).
"""

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from ..core import project
from ..core.contract import Contract, UseCase

# Small and quick: a served model to test the service with, not a good one.
SMALL_MODEL = {"_target_": "sklearn.ensemble.HistGradientBoostingRegressor", "max_iter": 30}
SMALL_CLASSIFIER = SMALL_MODEL | {"_target_": "sklearn.ensemble.HistGradientBoostingClassifier"}
SERVED_VERSION = "7"  # the registered version `model_dir` claims to be
SEGMENT_VERSION = "2"  # and each of `model_set`'s segment models
PROVENANCE = {"git.commit": "abc123", "git.dirty": "false", "dvc.data_md5": "d41d8"}


def conf_dir(root: Path) -> Path:
    return root / "conf"


def conf_options(root: Path, group: str) -> list[str]:
    """The options of one group of `conf/` (`model`: hist_gradient_boosting, ...)."""
    return sorted(path.stem for path in (conf_dir(root) / group).glob("*.yaml"))


def conf_groups(root: Path) -> list[str]:
    return sorted(path.name for path in conf_dir(root).iterdir() if path.is_dir())


def dvc_stages(root: Path) -> dict[str, Any]:
    """The stages of the project's dvc.yaml, by name, in their order there."""
    return yaml.safe_load((root / "dvc.yaml").read_text())["stages"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize `model_config`, `conf_option` and `dvc_stage` from the project's files."""
    root = metafunc.config.rootpath
    if "model_config" in metafunc.fixturenames:
        metafunc.parametrize("model_config", conf_options(root, "model"))
    if "conf_option" in metafunc.fixturenames:
        choices = [
            f"{group}={option}"
            for group in conf_groups(root)
            if group != "model"  # model_config's, fitted too
            for option in conf_options(root, group)
        ]
        metafunc.parametrize("conf_option", choices)
    if "dvc_stage" in metafunc.fixturenames:
        metafunc.parametrize("dvc_stage", list(dvc_stages(root)))


@pytest.fixture(scope="session", autouse=True)
def prediction_log(tmp_path_factory: pytest.TempPathFactory):
    """The services the tests start log their predictions here, never into the project."""
    folder = tmp_path_factory.mktemp("prediction-log")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PREDICTION_LOG", str(folder))
        yield folder


@pytest.fixture(scope="session")
def project_root(pytestconfig: pytest.Config) -> Path:
    root = pytestconfig.rootpath
    if not (root / "dvc.yaml").is_file() or not conf_dir(root).is_dir():
        raise pytest.UsageError(
            f"goldenpath's suites test a project: {root} (pytest's rootdir) has no dvc.yaml "
            "and conf/; run pytest from the project's folder"
        )
    return root


@pytest.fixture(scope="session")
def params(project_root: Path):
    """The parameters conf/ composes (params.yaml's values, typed: `params.data.source`)."""
    from ..core.params import compose_params, parse_params

    return parse_params(compose_params(conf_dir(project_root)))


@pytest.fixture(scope="session")
def use_case() -> UseCase:
    """The project's use case, as every command of the runtime finds it."""
    return project.use_case()


@pytest.fixture(scope="session")
def contract(use_case: UseCase) -> Contract:
    return use_case.contract


@pytest.fixture(scope="session")
def orders(contract: Contract) -> pd.DataFrame:
    """Labelled rows spread over every feature's range and category (Contract.samples)."""
    return contract.samples(600, seed=7)


def fit_small_model(contract: Contract, rows: pd.DataFrame, **params: Any):
    """SMALL_MODEL, or SMALL_CLASSIFIER for a classification (with `params`), fitted on
    `rows` as the train stage builds a model."""
    from ..core.modeling import build_model
    from ..core.params import ModelParams

    small = SMALL_MODEL if contract.task == "regression" else SMALL_CLASSIFIER
    model = build_model(contract, ModelParams.model_validate(small | params))
    return model.fit(rows[contract.feature_names], rows[contract.target.name])


def small_record(use_case: UseCase, folder: Path, name: str, version: str, run_id: str):
    """The champion record of a model `fit_small_model` made: made-up holdout figures in
    the task's default metric, a binary model's threshold at 0.5."""
    from ..core.champion import ChampionRecord
    from ..core.tasks import task_of

    task = task_of(use_case.contract)
    metric = task.default_metric
    record = ChampionRecord.of(str(folder), name, version, run_id, {metric: 1.5}, metric)
    return replace(record, threshold=0.5 if task.name == "binary" else None)


def save_fitted(model, folder: Path, rows: pd.DataFrame, contract: Contract, tags=None) -> None:
    """`model` as a model directory, trusting what the train stage trusts."""
    from ..core import model_io

    trusted = model_io.trusted_types(model, "sklearn")
    model_io.save_model(model, folder, trusted, tags or {}, rows[contract.feature_names])


@pytest.fixture(scope="session")
def model_dir(
    use_case: UseCase, orders: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A small fitted model saved as the pipeline saves a champion (version SERVED_VERSION)."""
    path = tmp_path_factory.mktemp("served") / "champion"
    model = fit_small_model(use_case.contract, orders)
    save_fitted(model, path, orders, use_case.contract, PROVENANCE)
    small_record(use_case, path, use_case.name, SERVED_VERSION, "run-1").write(path)
    return path


@pytest.fixture(scope="session")
def model_set(
    use_case: UseCase, model_dir: Path, orders: pd.DataFrame, tmp_path_factory
) -> tuple[Path, str]:
    """(folder, segment value): `model_dir` with the first segment's own model, which
    serves, and the second's, which does not (the global model beats it): as `register`
    leaves models/champion/ with segment=per_city."""
    contract, segment = use_case.contract, use_case.segment
    path = tmp_path_factory.mktemp("set") / "champion"
    shutil.copytree(model_dir, path)
    values = next(f for f in contract.features if f.name == segment).categories
    for value, serves in zip(values[:2], (True, False), strict=False):
        rows = orders[orders[segment] == value]
        folder = path / "segments" / value
        save_fitted(fit_small_model(contract, rows, max_iter=10), folder, rows, contract)
        record = small_record(
            use_case, folder, f"{use_case.name}-{value}", SEGMENT_VERSION, "run-2"
        )
        replace(record, serves=serves, segment=value).write(folder)
    return path, values[0]
