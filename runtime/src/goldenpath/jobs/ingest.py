"""Stage `ingest`: the labelled table `data.source` names (conf/data/), as Parquet."""

from ..core.params import load_params
from ..core.problems import report_problems
from ..core.project import use_case
from ..io.sources import load_source
from ..io.tables import write_table
from . import stage_paths


def main() -> None:
    paths = stage_paths("table")
    params = load_params()
    table = load_source(
        params.data.source,
        params.data.synthetic,
        params.data.sample_rows,
        params.data.seed,
        synthetic=use_case().example_data,
    )
    write_table(table, paths.table)
    print(f"{params.data.source}: {len(table)} rows -> {paths.table}")


if __name__ == "__main__":
    report_problems(main)
