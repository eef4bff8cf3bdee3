"""The data a served model was trained on: the reference its live traffic is compared with.

Its record carries the DVC hash of its training split (`data_md5`, the md5 DVC keeps
for data/split/train.parquet) and the commit that trained it. The table comes from
this project's DVC cache by that hash, else from the DVC remote as of that commit;
either way its bytes must have that hash.
"""

import hashlib
import io
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.champion import ChampionRecord
from ..core.contract import Contract
from ..core.problems import Problem
from ..core.tasks import task_of
from .store import PREDICTION, PROBABILITIES

TRAINING_DATA = "data/split/train.parquet"  # the train stage's input (dvc.yaml)


class NoReference(Problem):
    pass


def reference_table(record: ChampionRecord, model: Any, contract: Contract) -> pd.DataFrame:
    """The model's training rows, with its predictions on them as the log holds them: in
    column PREDICTION (a classifier's: its probability of the positive class, or of the
    most likely of many) and a multiclass model's PROBABILITIES."""
    table = pd.read_parquet(io.BytesIO(training_bytes(record)))
    table = table[[*contract.feature_names, contract.target.name]]
    task = task_of(contract)
    scores = task.scores(model, table[contract.feature_names])
    logged = {PREDICTION: task.headline(scores)}
    if task.name == "multiclass":
        logged[PROBABILITIES] = scores.tolist()
    return table.assign(**logged)


def training_bytes(record: ChampionRecord) -> bytes:
    from dvc.repo import Repo  # the monitor's dependency, not the service's

    what = f"{record.model_name} version {record.model_version}"
    if len(record.data_md5) != 32:
        raise NoReference(f"{what} records no DVC hash of its training data: retrain it")
    cached = Path(Repo(".").cache.local.oid_to_path(record.data_md5))
    data = cached.read_bytes() if cached.is_file() else _from_remote(record, what)
    if hashlib.md5(data).hexdigest() != record.data_md5:
        raise NoReference(
            f"{TRAINING_DATA} as of commit {record.git_commit} is not the data {what} was trained "
            f"on (DVC md5 {record.data_md5}): was it trained on uncommitted data?"
        )
    return data


def _from_remote(record: ChampionRecord, what: str) -> bytes:
    import dvc.api
    from dvc.exceptions import DvcException
    from scmrepo.exceptions import SCMError

    try:
        with dvc.api.open(TRAINING_DATA, rev=record.git_commit, mode="rb") as table:
            return table.read()
    except (DvcException, SCMError, FileNotFoundError) as error:
        raise NoReference(
            f"the training data of {what} (DVC md5 {record.data_md5}) is not in this DVC cache "
            f"and could not be fetched from the DVC remote as of commit {record.git_commit} "
            f"({type(error).__name__}: {error}). Run `uv run dvc pull` where the remote is "
            "reachable (in CI: give the job the remote's credentials)."
        ) from None
