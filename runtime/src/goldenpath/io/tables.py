"""Tables on disk: Parquet (the pipeline's own files) or CSV, by file suffix."""

from pathlib import Path

import pandas as pd

from ..core.problems import Problem

READERS = {".parquet": pd.read_parquet, ".pq": pd.read_parquet, ".csv": pd.read_csv}


class UnreadableTable(Problem):
    pass


def read_table(path: Path | str) -> pd.DataFrame:
    """The table at `path` (a local path or a URL pandas can open)."""
    suffix = Path(str(path)).suffix.lower()
    if suffix not in READERS:
        raise UnreadableTable(
            f"{path}: a table must be .csv or .parquet, not {suffix or 'no suffix'!r}"
        )
    try:
        return READERS[suffix](path)
    except FileNotFoundError:
        raise UnreadableTable(f"{path} does not exist") from None
    except (ValueError, OSError, pd.errors.ParserError) as error:
        raise UnreadableTable(f"{path} is not a readable {suffix[1:]} table ({error})") from None


def write_table(table: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        table.to_csv(path, index=False)
    else:
        table.to_parquet(path, index=False)
