"""The pipeline's parameters: composed from conf/ into params.yaml, read back typed.

`dvc exp run -S ...` composes params.yaml itself (hydra.enabled in .dvc/config);
plain `dvc repro` does not, so the pipeline's first stage does (jobs/compose.py).
Both compose with `compose_params`, so both write the same file. Every stage reads
params.yaml through `load_params`: validated once into the models below, so a
typo fails at once with the key's name, and each stage takes its typed part.
"""

import importlib
import inspect
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
)

from .problems import Problem
from .tasks import METRICS

PARAMS_FILE = Path("params.yaml")
CONF_DIR = Path("conf")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SyntheticData(_Strict):
    rows: PositiveInt
    seed: int


class DataParams(_Strict):
    source: str = Field(description="'synthetic', a table under data/external/, or its URL")
    synthetic: SyntheticData
    sample_rows: PositiveInt | None
    holdout_fraction: float = Field(gt=0, lt=1)
    seed: int


class ModelParams(BaseModel):
    """`_target_` names the estimator class; every other key is one of its parameters."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)
    target: str = Field(alias="_target_", pattern=r"^[\w.]+\.\w+$")

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @property
    def library(self) -> str:
        """The top-level package of the estimator, e.g. `lightgbm`."""
        return self.target.split(".", 1)[0]

    def estimator_class(self) -> type:
        module, _, name = self.target.rpartition(".")
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as error:
            raise InvalidParams(
                [f"model._target_: cannot import {self.target!r} ({error})"]
            ) from None

    def check(self) -> None:
        """Every hyperparameter is one the estimator takes (a typo fails here, by name)."""
        accepted = inspect.signature(self.estimator_class()).parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()):
            return  # it takes any keyword (LightGBM passes them on): it checks them itself
        unknown = [name for name in self.hyperparameters if name not in accepted]
        if unknown:
            name = self.target.rsplit(".", 1)[1]
            raise InvalidParams(
                [f"model.{key}: {name} has no parameter {key!r}" for key in unknown]
            )


class TrainParams(_Strict):
    log_target: bool
    threshold: float = Field(
        0.5, gt=0, lt=1, description="a binary classifier's: the positive class at or above it"
    )
    trusted_types: tuple[str, ...] = Field(
        description="module prefixes skops may load besides the model's library, sklearn, "
        "numpy, scipy and this package"
    )


class PromotionParams(_Strict):
    min_improvement: float = Field(ge=0, lt=1)
    register_queued: bool
    metric: Literal[tuple(METRICS)] | None = Field(  # type: ignore[valid-type]
        None, description="the holdout metric the gate compares; None: the task's own"
    )


class SegmentParams(_Strict):
    per_segment: bool
    min_rows: NonNegativeInt


class DriftThresholds(_Strict):
    numeric_threshold: PositiveFloat
    categorical_threshold: PositiveFloat
    segment_threshold: PositiveFloat
    segment_min_rows: PositiveInt


class ErrorThresholds(_Strict):
    max_ratio: float = Field(  # named max_mae_ratio up to 1.0.0, when only MAE was judged
        gt=1, validation_alias=AliasChoices("max_ratio", "max_mae_ratio")
    )
    min_outcomes: PositiveInt


class MonitorParams(_Strict):
    """`make monitor` (monitoring/monitor.py): no pipeline stage reads these."""

    window_hours: PositiveFloat
    since: datetime | None  # without an offset: UTC
    until: datetime | None
    min_rows: PositiveInt
    drift: DriftThresholds
    out_of_range_share: float = Field(ge=0, lt=1)
    # A high-cardinality feature meets new values (a new restaurant) as a matter of course:
    # this share more than training predicts (monitoring/checks.py) is an alarm.
    unseen_share: float = Field(0.05, ge=0, le=1)
    error: ErrorThresholds
    output: str

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """(since, until) in UTC: the explicit times, else `window_hours` up to `until` or now."""
        until = _utc(self.until) if self.until else now
        since = _utc(self.since) if self.since else until - timedelta(hours=self.window_hours)
        if since >= until:
            order = f"monitor.since ({since}) must come before monitor.until ({until})"
            raise InvalidParams([order])
        return since, until


class Params(_Strict):
    data: DataParams
    model: ModelParams
    train: TrainParams
    promotion: PromotionParams
    segment: SegmentParams
    monitor: MonitorParams


class InvalidParams(Problem):
    def __init__(self, problems: Sequence[str]) -> None:
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(
            f"the parameters composed from conf/ are invalid:\n{lines}\n"
            "Fix conf/ (or the value given to `dvc exp run -S`)."
        )


def compose_params(conf_dir: Path = CONF_DIR, overrides: Sequence[str] = ()) -> str:
    """The YAML text Hydra composes from `conf_dir/config.yaml` and `overrides`."""
    # Imported here: Hydra is a pipeline tool, absent from the serving image.
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(str(conf_dir.resolve()), version_base="1.3"):
        config = compose(config_name="config", overrides=list(overrides))
    OmegaConf.resolve(config)
    return OmegaConf.to_yaml(config)


def parse_params(text: str) -> Params:
    try:
        return Params.model_validate(yaml.safe_load(text))
    except ValidationError as error:
        raise InvalidParams([_problem(e) for e in error.errors(include_url=False)]) from None


def load_params(path: Path = PARAMS_FILE) -> Params:
    return parse_params(path.read_text())


def drift(text: str, path: Path = PARAMS_FILE) -> list[str]:
    """How `path` differs from `text`: one line per key, its value there and in `text`."""
    if not path.exists():
        return []
    written = _flatten(yaml.safe_load(path.read_text()))
    composed = _flatten(yaml.safe_load(text))
    return [
        f"{key}: {written.get(key, '<absent>')!r} in {path}, "
        f"{composed.get(key, '<absent>')!r} from conf/"
        for key in sorted(written.keys() | composed.keys())
        if written.get(key) != composed.get(key)
    ]


def _problem(error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key (a typo?)"
    if error["type"] == "missing":
        return f"{key}: missing"
    return f"{key}: {error['msg']} (got {error['input']!r})"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat |= _flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat
