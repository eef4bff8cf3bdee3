"""`data.source`: where the labelled table comes from (see conf/data/default.yaml).

One seam: `synthetic`, or a table under data/external/, the folder the pipeline
watches (a changed file there re-runs it), versioned with `dvc add`; a URL is
imported there by `dvc import-url`, which records the version a commit used.
"""

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import yaml

from ..core.params import SyntheticData
from ..core.problems import Problem
from .tables import read_table

EXTERNAL = Path("data/external")
SYNTHETIC = "synthetic"


class SourceProblem(Problem):
    pass


def load_source(
    source: str,
    generated: SyntheticData,
    sample_rows: int | None,
    seed: int,
    synthetic: Callable[[int, int], pd.DataFrame] | None,
) -> pd.DataFrame:
    """The table `source` names (`synthetic`: made by `synthetic` as `generated` says),
    sampled to `sample_rows` when set."""
    if source == SYNTHETIC:
        if synthetic is None:
            raise SourceProblem(
                "data.source is 'synthetic', but the use case (usecase.py) has no example_data "
                "generator: point data.source (conf/data/) at your table under data/external/"
            )
        table = synthetic(generated.rows, generated.seed)
    else:
        table = read_table(local_copy(source))
    if sample_rows is not None and sample_rows < len(table):
        table = table.sample(n=sample_rows, random_state=seed).sort_index()
    return table.reset_index(drop=True)


def local_copy(source: str) -> Path:
    """The file under data/external/ that holds `source` (a path there, or an imported URL)."""
    if "://" in source:
        imported = _imports().get(source)
        if imported is None:
            raise SourceProblem(
                f"data.source {source!r} is a URL DVC does not track yet. Import it once:\n"
                f"  uv run dvc import-url {source} {EXTERNAL}/\n"
                "and commit the .dvc file it writes; `uv run dvc update` fetches newer versions."
            )
        return imported
    path = Path(source)
    if path.is_absolute() or EXTERNAL.resolve() not in path.resolve().parents:
        raise SourceProblem(
            f"data.source {source!r} is not under {EXTERNAL}/: copy the table there, version it "
            f"with `uv run dvc add {EXTERNAL}/{path.name}` and set data.source to "
            f"{EXTERNAL}/{path.name} (the pipeline re-runs when files there change)."
        )
    if not path.is_file():
        raise SourceProblem(f"data.source {source!r} does not exist: copy your table there.")
    return path


def _imports() -> dict[str, Path]:
    """URL -> local file, for every `dvc import-url` under data/external/."""
    found = {}
    for dvc_file in EXTERNAL.rglob("*.dvc"):
        stage = yaml.safe_load(dvc_file.read_text()) or {}
        for dep in stage.get("deps", []):
            for out in stage.get("outs", []):
                found[dep["path"]] = dvc_file.parent / out["path"]
    return found
