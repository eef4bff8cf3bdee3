"""The champion directory: a model's files with a `champion.json` record.

The record (name, version, run, holdout metrics, provenance) is what serving and the
image read; it needs no MLflow (the serving image has none).
"""

import json
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import model_io

RECORD = "champion.json"
UNREGISTERED = "unregistered"


@dataclass(frozen=True)
class ChampionRecord:
    model_name: str
    model_version: str  # UNREGISTERED when its run registered nothing (a queued experiment)
    run_id: str
    holdout: dict[str, float]  # the task's holdout metrics at promotion (core/tasks.py)
    git_commit: str
    git_dirty: str
    data_md5: str
    experiment: str
    serves: bool = True  # False: a segment's champion the global model beats on its rows
    segment: str | None = None  # the segment value a segment's champion is for
    baseline: dict = field(default_factory=dict)  # at promotion: core/reference.py's baseline
    metric: str = "mae"  # the one of `holdout` the promotion gate compared
    threshold: float | None = None  # a binary classifier's decision: train.threshold at register

    @property
    def holdout_mae(self) -> float | None:
        """A regression's holdout MAE, what live errors are compared with; else None."""
        return self.holdout.get("mae")

    @property
    def score(self) -> float | None:
        """The gate's figure: `holdout[metric]`."""
        return self.holdout.get(self.metric)

    @classmethod
    def of(
        cls,
        uri: str,
        name: str,
        version: str,
        run_id: str,
        holdout: dict[str, float] | None,
        metric: str = "mae",
    ):
        """The record of the model at `uri`, its provenance read from the model itself."""
        tags = model_io.metadata(uri)
        return cls(
            model_name=name,
            model_version=version,
            run_id=run_id,
            holdout={figure: round(value, 4) for figure, value in (holdout or {}).items()},
            metric=metric,
            git_commit=tags.get("git.commit", "unknown"),
            git_dirty=tags.get("git.dirty", "unknown"),
            data_md5=tags.get("dvc.data_md5", "unknown"),
            experiment=tags.get("dvc.experiment", ""),
        )

    def write(self, model_dir: Path) -> None:
        (model_dir / RECORD).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def read(cls, model_dir: Path) -> "ChampionRecord | None":
        record = model_dir / RECORD
        if not record.is_file():
            return None
        fields = json.loads(record.read_text())
        if "holdout_mae" in fields:  # written by 1.1 and earlier: a regression's one figure
            mae = fields.pop("holdout_mae")
            fields["holdout"] = {} if mae is None else {"mae": mae}
        return cls(**fields)


def install_champion(
    model_dir: Path, destination: Path, record: ChampionRecord, keep: Sequence[str] = ()
) -> None:
    """`model_dir`'s files, and `record`, become the champion directory `destination`.

    `keep` names sub-folders of `destination` that are not the model's and stay.
    """
    staging = destination.with_name(destination.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(model_dir, staging, ignore=shutil.ignore_patterns(*keep))
    record.write(staging)
    for folder in keep:
        if (destination / folder).exists():
            (destination / folder).rename(staging / folder)
    shutil.rmtree(destination, ignore_errors=True)
    staging.rename(destination)
