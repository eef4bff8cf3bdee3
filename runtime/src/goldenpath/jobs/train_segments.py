"""Train the models of some segments, one after another: the unit an orchestrator fans out.

    python -m goldenpath.jobs.train_segments TRAIN OUT [SEGMENT ...]

Fits, for each SEGMENT (default: every one with `segment.min_rows` training rows),
the model params.yaml configures on that segment's rows of the TRAIN table, and
saves it in OUT/<segment>/. The `train` stage fits the same models on Dask.
"""

import argparse
from pathlib import Path

from ..core import model_io, segments
from ..core.modeling import fit_model
from ..core.params import load_params
from ..core.problems import Problem, report_problems
from ..core.project import use_case
from ..io.tables import read_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("segment", nargs="*")
    args = parser.parse_args()
    params = load_params()
    case = use_case()
    contract = case.contract
    tables = segments.groups(read_table(args.train), case.segment, params.segment.min_rows)
    if unknown := sorted(set(args.segment) - tables.keys()):
        rows = params.segment.min_rows
        raise Problem(f"no segment {unknown} with {rows} rows or more; there are {sorted(tables)}")
    for value in args.segment or tables:
        model = fit_model(tables[value], contract, params.model, params.train.log_target)
        trusted = model_io.trusted_types(model, params.model.library, params.train.trusted_types)
        sample, folder = tables[value][contract.feature_names], args.out / segments.key(value)
        model_io.save_model(model, folder, trusted, {"segment": value}, sample)
        print(f"{value}: {len(tables[value])} rows -> {folder}")


if __name__ == "__main__":
    report_problems(main)
