"""Stage `split`: a seeded train / holdout split."""

from ..core.params import load_params
from ..core.problems import report_problems
from ..io.tables import read_table, write_table
from . import stage_paths


def main() -> None:
    paths = stage_paths("table", "split_dir")
    params = load_params()
    table = read_table(paths.table)
    holdout = table.sample(frac=params.data.holdout_fraction, random_state=params.data.seed)
    write_table(table.drop(holdout.index), paths.split_dir / "train.parquet")
    write_table(holdout.sort_index(), paths.split_dir / "holdout.parquet")


if __name__ == "__main__":
    report_problems(main)
