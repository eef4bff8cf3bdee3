"""Stage `validate`: only data that honours the contract goes further.

The project's feature code runs on the validated rows too, so that a derived value its
declaration refuses stops the pipeline here, named, not later inside training.
"""

from ..core.params import load_params
from ..core.problems import report_problems
from ..core.project import use_case
from ..io.tables import read_table, write_table
from . import stage_paths


def main() -> None:
    paths = stage_paths("raw", "validated")
    contract = use_case().contract
    # The team's own file, by the name they gave it in conf/data/, is where a fix goes.
    source = f"the table ingested from {load_params().data.source} ({paths.raw})"
    table = contract.validate(read_table(paths.raw), source=source)
    contract.with_derived(table, check=True)  # not kept: the model computes them itself
    write_table(table, paths.validated)
    derived = f" and give the derived features {contract.derived_names}" if contract.derived else ""
    print(f"{paths.raw}: {len(table)} rows honour the contract{derived}")


if __name__ == "__main__":
    report_problems(main)
