"""Batch scoring: a table too large for memory, scored with the champion as the service would.

    python -m goldenpath.jobs.score INPUT OUTPUT [--model URI] [--batch-rows N]
    (make score INPUT=orders.parquet OUTPUT=scores.parquet [MODEL=models:/eta@champion])

INPUT is a CSV or Parquet file, or a folder of them; it holds the contract's key and
features, and its passthrough columns, which each score carries as they came (a Parquet
column's type kept, a CSV's as text); other columns are ignored. The rows are read in
batches (bounded memory, the next batch read while one is scored), checked row by row
against the contract (core/rows.py): a row that breaks it goes to OUTPUT's
`.rejects.parquet` with its reasons, the others are predicted by their segment's model
where it has one, as the service routes them, each with the key, the model's name and
version. A classifier's `prediction` is the class the service answers, beside a
`probability_<class>` column for each class. OUTPUT, Parquet, appears only once
complete. The run is recorded in the use case's MLflow experiment with its counts. The
models predict on every core (the service's workers use one each).
"""

import argparse
import queue
import resource
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pyarrow as pa

from ..core.contract import Contract
from ..core.problems import Problem, report_problems
from ..core.project import use_case
from ..core.rows import REASON, check_rows
from ..core.tasks import Task
from ..core.tracking import configure_tracking
from ..io.batches import ParquetOutput, read_batches, schema_of, table_files
from ..serving.model import ServedSet, default_model_uri, load_served_set

BATCH_ROWS = 200_000
SOURCE = "source_file"  # the rejected rows' column naming the file each came from
READ_AHEAD = 2  # batches read and waiting: what bounds the memory
PROBABILITY = "probability_{}"  # a classifier's column of each class's probability


class ScoringProblem(Problem):
    pass


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m goldenpath.jobs.score")
    parser.add_argument("input", type=Path, help="a .csv or .parquet table, or a folder of them")
    parser.add_argument("output", type=Path, help="the scores: a .parquet file")
    parser.add_argument("--model", default=None, help="default: MODEL_URI or models/champion")
    parser.add_argument("--batch-rows", type=int, default=BATCH_ROWS)
    args = parser.parse_args()
    # Stopped (a CI job cancelled, make interrupted): the partial files are removed on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    summary = score(args.input, args.output, args.model or default_model_uri(), args.batch_rows)
    print(summary)


def rejects_path(output: Path) -> Path:
    return output.with_name(f"{output.stem}.rejects.parquet")


def score(source: Path, output: Path, model_uri: str, batch_rows: int = BATCH_ROWS) -> str:
    """Score every table of `source` into `output`; what it did, in a few lines."""
    if output.suffix.lower() != ".parquet":
        raise ScoringProblem(f"OUTPUT={output}: the scores are written as Parquet: name a .parquet")
    if batch_rows < 1:
        raise ScoringProblem(f"--batch-rows {batch_rows}: give a positive number of rows")
    if source.is_dir() and output.resolve().is_relative_to(source.resolve()):
        raise ScoringProblem(
            f"OUTPUT={output} is inside INPUT={source}: the next run would read the scores as"
            " orders. Write them to another folder."
        )
    case = use_case()
    contract = case.contract
    served = load_served_set(model_uri, contract, one_thread=False)  # the model fits, first
    task = served.main.task(contract)
    schemas = {path: schema_of(path) for path in table_files(source)}
    files = list(schemas)
    columns = [contract.key, *contract.feature_names, *contract.passthrough]
    for path, schema in schemas.items():  # every file checked before anything is written
        if missing := [name for name in columns if name not in schema.names]:
            them = "it" if len(missing) == 1 else "them"
            raise ScoringProblem(
                f"{path} lacks {len(missing)} of the contract's columns (usecase.py): "
                f"{', '.join(missing)}. Add {them}, or score a table that has {them}."
            )
    scores_schema = _scores_schema(contract, task, schemas[files[0]])
    _check_passthrough(contract, schemas, scores_schema)
    known = served.known_values(contract, case.segment)
    start = time.perf_counter()
    counts = {"rows": 0, "scored": 0, "rejected": 0}
    rejects = rejects_path(output)
    reject_schema = pa.schema([(name, pa.string()) for name in [*columns, REASON, SOURCE]])
    with (
        ParquetOutput(output, scores_schema) as scores,
        ParquetOutput(rejects, reject_schema, keep_empty=False) as rejected,
    ):
        for path, batch in _read_ahead(files, columns, batch_rows):
            checked = check_rows(contract, batch, known)
            scores.write(_predict(served, case.segment, contract, task, checked.scorable))
            rejected.write(checked.rejected.assign(**{SOURCE: path.name}))
            counts["rows"] += len(batch)
    counts |= {"scored": scores.rows, "rejected": rejected.rows}
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB
    record = served.main.record
    configure_tracking(case.experiment)
    with mlflow.start_run(run_name="score", tags={"goldenpath.job": "score"}):
        mlflow.log_params(
            {"input": str(source), "output": str(output), "model_uri": model_uri}
            | {"model_name": record.model_name, "model_version": record.model_version}
        )
        mlflow.log_metrics(
            counts
            | {"seconds": seconds, "rows_per_second": counts["rows"] / max(seconds, 1e-9)}
            | {"peak_memory_mb": peak_mb}
        )
    lines = [
        f"Scored {counts['scored']:,} of {counts['rows']:,} rows of {source} with "
        f"{record.model_name} version {record.model_version} ({model_uri})"
        + (f" and {len(served.own)} {case.segment} models of their own" if served.own else "")
        + f": {output}",
        f"{counts['rows'] / max(seconds, 1e-9):,.0f} rows/s, {seconds:.1f} s, peak memory "
        f"{peak_mb:,.0f} MB",
    ]
    if counts["rejected"]:
        lines.append(f"Rejected {counts['rejected']:,} rows, each with its reasons: {rejects}")
    return "\n".join(lines)


def _scores_schema(contract: Contract, task: Task, first: pa.Schema) -> pa.Schema:
    """The key, the answer, the model, then the passthrough columns (typed as `first`, the
    first file's schema, has them: every file's must fit)."""
    if task.is_classification:
        answer = [("prediction", pa.string())]
        answer += [(PROBABILITY.format(value), pa.float64()) for value in task.classes]
    else:
        answer = [("prediction", pa.float64())]
    return pa.schema(
        [
            (contract.key, pa.int64()),
            *answer,
            ("model_name", pa.string()),
            ("model_version", pa.string()),
            *((name, first.field(name).type) for name in contract.passthrough),
        ]
    )


def _check_passthrough(
    contract: Contract, schemas: dict[Path, pa.Schema], scores: pa.Schema
) -> None:
    """ScoringProblem unless the passthrough columns can be written as they came: names of
    their own, and every file's typed as the first's (the scores' types)."""
    own = [*scores.names[: -len(contract.passthrough) or None], REASON, SOURCE]
    if clash := [name for name in contract.passthrough if name in own]:
        raise ScoringProblem(
            f"the contract's passthrough columns {clash} (usecase.py) have the names of columns"
            f" the scores or the rejects have of their own ({own}): rename them at the source"
        )
    first, *others = schemas
    for path in others:
        if changed := [
            f"{name} ({kind}, not {scores.field(name).type})"
            for name in contract.passthrough
            if (kind := schemas[path].field(name).type) != scores.field(name).type
        ]:
            raise ScoringProblem(
                f"{path}'s passthrough columns are not typed as {first}'s, whose types the"
                f" scores keep: {', '.join(changed)}. Give each one type (a CSV's is text)."
            )


def _predict(served: ServedSet, segment: str, contract: Contract, task: Task, rows):
    """`rows`' key, answer (rounded as the service rounds it) and model, in order."""
    width = len(task.classes) if task.is_classification else None
    outputs = np.empty((len(rows), width) if width else len(rows))
    names = np.empty(len(rows), dtype=object)
    versions = np.empty(len(rows), dtype=object)
    own = rows[segment].isin(list(served.own)).to_numpy()
    groups = [(served.main, ~own)]
    groups += [(model, (rows[segment] == value).to_numpy()) for value, model in served.own.items()]
    for model, mask in groups:
        if mask.any():
            features = rows.loc[mask, contract.feature_names]
            outputs[mask] = task.outputs(model.predictor, features)
            names[mask], versions[mask] = model.record.model_name, model.record.model_version
    outputs = outputs.round(task.digits)
    if width:
        answer = {"prediction": task.classes_of(outputs)}
        answer |= {PROBABILITY.format(c): outputs[:, i] for i, c in enumerate(task.classes)}
    else:
        answer = {"prediction": outputs}
    return pd.DataFrame(
        {
            contract.key: rows[contract.key].to_numpy(),
            **answer,
            "model_name": names,
            "model_version": versions,
            **{name: rows[name].to_numpy() for name in contract.passthrough},
        }
    )


def _read_ahead(
    files: list[Path], columns: list[str], rows: int
) -> Iterator[tuple[Path, pd.DataFrame]]:
    """The batches of every file, with the file, read by a thread of their own READ_AHEAD
    ahead."""
    waiting: queue.Queue = queue.Queue(maxsize=READ_AHEAD)
    done, stop = object(), threading.Event()

    def offer(item: object) -> bool:
        """Queue `item` unless the batches are no longer taken; whether it was."""
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for path in files:
                for batch in read_batches(path, columns, rows):
                    if not offer((path, batch)):
                        return
            offer(done)
        except BaseException as error:  # raised where the batches are taken
            offer(error)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        while (item := waiting.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


if __name__ == "__main__":
    report_problems(main)
