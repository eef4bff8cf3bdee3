"""Stage `validate`: only data that honours the contract goes further."""

from ..core.problems import report_problems
from ..core.project import use_case
from ..io.tables import read_table, write_table
from . import stage_paths


def main() -> None:
    paths = stage_paths("raw", "validated")
    table = use_case().contract.validate(read_table(paths.raw), source=str(paths.raw))
    write_table(table, paths.validated)
    print(f"{paths.raw}: {len(table)} rows honour the contract")


if __name__ == "__main__":
    report_problems(main)
