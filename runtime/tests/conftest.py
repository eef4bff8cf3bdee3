"""Every test runs as a command of the runtime does: from a project's root, for one use case.

The root is a copy of tests/project/ (a pyproject.toml with [tool.goldenpath], conf/,
dvc.yaml), the use case the tests' own (usecase.py, named by GOLDENPATH_USE_CASE), the
prediction log a folder of the session's. Nothing a developer's shell exports leaks in.
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import mlflow
import mlflow.tracking._tracking_service.utils as tracking_service
import pandas as pd
import pytest
from distributed import LocalCluster
from threadpoolctl import threadpool_limits

from goldenpath.core import project

from .champions import SMALL_MODEL, fitted, save_champion
from .pipeline import PROJECT, SOURCE
from .usecase import CONTRACT, USE_CASE

USE_CASE_NAME = "tests.usecase:USE_CASE"
# What would point the runtime elsewhere than the tests' own project and stores.
FOREIGN = (
    "MODEL_URI",
    "MLFLOW_TRACKING_URI",
    "DVC_EXP_NAME",
    "DVC_ROOT",
    "SERVE_API_KEY",
    "MODEL_TRUSTED_TYPES",
    "PROMOTION_DRY_RUN",
    "DASK_SCHEDULER_ADDRESS",
    "PREDICTION_LOG_PASSWORD",
    "PREDICTION_LOG_PASSWORD_FILE",
    "EVIDENTLY_URL",
    "EVIDENTLY_SECRET_KEY",
)


@pytest.fixture(scope="session", autouse=True)
def project_root(tmp_path_factory: pytest.TempPathFactory):
    """The session's project root, its use case and its prediction log (see above)."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(PROJECT, root, dirs_exist_ok=True)
    log = tmp_path_factory.mktemp("prediction-log")
    with pytest.MonkeyPatch.context() as patch:
        for name in FOREIGN:
            patch.delenv(name, raising=False)
        patch.setenv(project.OVERRIDE, USE_CASE_NAME)
        patch.setenv("PREDICTION_LOG", str(log))
        # One OpenMP thread per fit, as the service predicts (serving/__main__.py): the
        # models are small, and on a busy machine more threads only spin against each other.
        patch.setenv("OMP_NUM_THREADS", "1")  # for the processes the tests start (Dask's)
        patch.chdir(root)
        forget_the_use_case()
        with threadpool_limits(limits=1, user_api="openmp"):  # this one's, loaded already
            yield root
    forget_the_use_case()


@pytest.fixture(scope="session")
def prediction_log(project_root) -> Path:
    """Where the services the tests start log their predictions."""
    return Path(os.environ["PREDICTION_LOG"])


def forget_the_use_case() -> None:
    """The runtime finds its use case once per process (core/project.py): start afresh."""
    project.use_case.cache_clear()
    project._entry_point.cache_clear()


@pytest.fixture(scope="session")
def empty_mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow database with its tables made: copied into a workspace's .mlflow/, it saves
    the seconds MLflow's migrations take on each new one."""
    database = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    mlflow.MlflowClient(f"sqlite:///{database}").search_experiments()
    return database


@pytest.fixture(autouse=True)
def own_mlflow(monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow as a project's own store finds it (no tracking server), and as it was once
    the test is over.

    MLflow keeps the tracking URI and experiment the stages set, and exports them to the
    environment: the next test would take that store for a tracking server.
    """
    monkeypatch.setattr(tracking_service, "_tracking_uri", None)
    monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", None)
    for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID"):
        monkeypatch.setenv(variable, "")  # recorded, so that the test's end restores it
        monkeypatch.delenv(variable)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_mlflow_store) -> Path:
    """A project root of its own, its table in data/external/, its own MLflow store."""
    shutil.copytree(PROJECT, tmp_path, dirs_exist_ok=True)
    (tmp_path / ".mlflow").mkdir()
    shutil.copy(empty_mlflow_store, tmp_path / ".mlflow" / "mlflow.db")
    (tmp_path / "data" / "external").mkdir(parents=True)
    CONTRACT.samples(800, seed=1).to_parquet(tmp_path / SOURCE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))  # as DVC sets it: the main repository
    return tmp_path


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[str]:
    """A Dask cluster in this process (threads, no worker processes to start): the address
    DASK_SCHEDULER_ADDRESS gives the stages that fan out. test_fanout.py starts the local
    worker processes the default path uses."""
    options = {"n_workers": 2, "threads_per_worker": 1, "dashboard_address": None}
    with LocalCluster(processes=False, **options) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="session")
def orders() -> pd.DataFrame:
    """Labelled rows spread over every feature's range (see Contract.samples)."""
    return CONTRACT.samples(600, seed=7)


@pytest.fixture(scope="session")
def model_dir(orders: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small fitted model saved as the pipeline saves a champion (version 7)."""
    return save_champion(fitted(orders), tmp_path_factory.mktemp("served") / "champion", orders)


@pytest.fixture(scope="session")
def model_set(model_dir: Path, orders: pd.DataFrame, tmp_path_factory) -> tuple[Path, str]:
    """The champion of `model_dir` with a segment's own model that serves (and one that
    does not), as `register` leaves models/champion/ with segment=per_city."""
    path = tmp_path_factory.mktemp("set") / "champion"
    shutil.copytree(model_dir, path)
    values = next(f for f in CONTRACT.features if f.name == USE_CASE.segment).categories
    for value, serves in zip(values[:2], (True, False), strict=True):
        rows = orders[orders[USE_CASE.segment] == value]
        model = fitted(rows, SMALL_MODEL.model_copy(update={"max_iter": 10}))
        name = f"{USE_CASE.name}-{value}"
        folder = path / "segments" / value
        fields = {"run_id": "run-2", "holdout": {"mae": 1.0}, "serves": serves, "segment": value}
        save_champion(model, folder, rows, {}, name, "2", **fields)
    return path, values[0]
