"""Where runs and models are recorded, and the provenance every run carries.

Embedded default: a SQLite database and an artifact folder under `.mlflow/` in
the project (gitignored). Set MLFLOW_TRACKING_URI to use a tracking server.
"""

import hashlib
import os
import subprocess
from pathlib import Path

import mlflow


def project_root() -> Path:
    # DVC sets DVC_ROOT to the main repository, also for queued experiments that
    # run in a temporary copy: their runs must land in the same store.
    return Path(os.environ.get("DVC_ROOT", ".")).resolve()


def embedded_store() -> Path | None:
    """Point MLflow at the project's own store, unless MLFLOW_TRACKING_URI names a server."""
    if "MLFLOW_TRACKING_URI" in os.environ:
        return None
    store = project_root() / ".mlflow"
    store.mkdir(exist_ok=True)
    mlflow.set_tracking_uri(f"sqlite:///{store / 'mlflow.db'}")
    return store


def configure_tracking(experiment: str) -> None:
    store = embedded_store()
    if store and mlflow.get_experiment_by_name(experiment) is None:
        mlflow.create_experiment(experiment, (store / "artifacts").as_uri())
    mlflow.set_experiment(experiment)


def file_md5(path: Path) -> str:
    """The hash DVC records for a file in dvc.lock."""
    digest = hashlib.md5()
    with path.open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _git(*args: str) -> str:
    result = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def provenance(data: Path) -> dict[str, str]:
    """Tags that tie a run to its code and data."""
    return {
        "git.commit": _git("rev-parse", "HEAD"),
        "git.dirty": str(bool(_git("status", "--porcelain", "--untracked-files=no"))).lower(),
        "dvc.data_md5": file_md5(data),
    }
