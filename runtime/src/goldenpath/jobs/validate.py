"""Stage `validate`: only data that honours the contract goes further."""

from pathlib import Path

from ..core.params import DataParams, load_params
from ..core.problems import report_problems
from ..core.project import use_case
from ..io.sources import SYNTHETIC
from ..io.tables import read_table, write_table
from . import stage_paths


def described(raw: Path, data: DataParams) -> str:
    """The table as a report names it: the team's own file, whose rows ingest kept in order
    unless it sampled them."""
    if data.source == SYNTHETIC:
        return f"{raw} (the synthetic data)"
    if data.sample_rows is not None:
        return f"{raw} (a sample of {data.source})"
    return f"{data.source} (as ingested to {raw})"


def main() -> None:
    paths = stage_paths("raw", "validated")
    source = described(paths.raw, load_params().data)
    table = use_case().contract.validate(read_table(paths.raw), source=source)
    write_table(table, paths.validated)
    print(f"{paths.raw}: {len(table)} rows honour the contract")


if __name__ == "__main__":
    report_problems(main)
