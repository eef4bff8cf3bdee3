"""Where runs and models are recorded, and the provenance every run carries.

Embedded default: a SQLite database and an artifact folder under `.mlflow/` in
the project (gitignored). Set MLFLOW_TRACKING_URI to use a tracking server.
"""

import hashlib
import os
import sqlite3
import subprocess
from pathlib import Path

import mlflow

STORE = ".mlflow"
# What the pipeline itself writes in a working copy: a change there is not a dirty checkout.
PIPELINE_PRODUCTS = ("params.yaml", "dvc.lock", "metrics.json", "data", "models", "reports")


def project_root() -> Path:
    # DVC sets DVC_ROOT to the main repository, also for queued experiments that
    # run in a temporary copy: their runs must land in the same store.
    return Path(os.environ.get("DVC_ROOT", ".")).resolve()


def _embedded_uri() -> str:
    return f"sqlite:///{project_root() / STORE / 'mlflow.db'}"


def uses_server() -> bool:
    """MLFLOW_TRACKING_URI names a store other than the project's own (which MLflow exports)."""
    return os.environ.get("MLFLOW_TRACKING_URI", _embedded_uri()) != _embedded_uri()


def embedded_store() -> Path | None:
    """Point MLflow at the project's own store, unless MLFLOW_TRACKING_URI names another."""
    if uses_server():
        return None
    store = project_root() / STORE
    store.mkdir(exist_ok=True)
    _follow_a_moved_project(store)
    mlflow.set_tracking_uri(_embedded_uri())
    return store


def configure_tracking(experiment: str) -> None:
    store = embedded_store()
    if store and mlflow.get_experiment_by_name(experiment) is None:
        mlflow.create_experiment(experiment, (store / "artifacts").as_uri())
    mlflow.set_experiment(experiment)


def _follow_a_moved_project(store: Path) -> None:
    """Re-point the store's artifact paths after the project folder was renamed or moved.

    MLflow records artifact locations as absolute paths; the folder they were
    written under is kept in `.mlflow/location`, and every text value that starts
    with it is rewritten (in whatever table MLflow keeps it).
    """
    database, record = store / "mlflow.db", store / "location"
    here = str(store)
    before = record.read_text() if record.exists() else here
    if before != here and database.exists():
        with sqlite3.connect(database) as db:
            for table, column in _text_columns(db):
                for old, new in ((f"file://{before}", f"file://{here}"), (before, here)):
                    db.execute(
                        f'UPDATE "{table}" SET "{column}" = ? || substr("{column}", ?) '
                        f"WHERE \"{column}\" LIKE ? ESCAPE '\\'",
                        (new, len(old) + 1, _like_prefix(old)),
                    )
    record.write_text(here)


def _text_columns(db: sqlite3.Connection) -> list[tuple[str, str]]:
    tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return [
        (table, column[1])
        for table in tables
        for column in db.execute(f'PRAGMA table_info("{table}")')
        if any(kind in column[2].upper() for kind in ("CHAR", "TEXT"))
    ]


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


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
    """Tags that tie a run to its code, data and DVC experiment.

    `git.dirty` counts changes to code and conf/ only: `dvc exp run` rewrites
    params.yaml and the pipeline's outputs, which the commit does not hold.
    """
    excluded = [f":(exclude){path}" for path in PIPELINE_PRODUCTS]
    changed = _git("status", "--porcelain", "--untracked-files=no", "--", ".", *excluded)
    return {
        "git.commit": _git("rev-parse", "HEAD"),
        "git.dirty": "unknown" if changed == "unknown" else str(bool(changed)).lower(),
        "dvc.data_md5": file_md5(data),
        "dvc.experiment": os.environ.get("DVC_EXP_NAME", ""),
    }


def run_exists(run_id: str) -> bool:
    try:
        mlflow.MlflowClient().get_run(run_id)
        return True
    except mlflow.exceptions.MlflowException:
        return False


def log_to_run(run_id: str, metrics: dict[str, float]) -> bool:
    """Add `metrics` to the training run; False when this store does not hold it (a clone)."""
    if not run_exists(run_id):
        print(f"run {run_id} is not in this MLflow store (a fresh clone?): metrics not logged")
        return False
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics(metrics)
    return True


if __name__ == "__main__":
    # `make ui`: the URI of the project's own store (its paths re-pointed if the folder moved).
    if uses_server():
        raise SystemExit(f"MLFLOW_TRACKING_URI is set: open {os.environ['MLFLOW_TRACKING_URI']}")
    embedded_store()
    print(mlflow.get_tracking_uri())
