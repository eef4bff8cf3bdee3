"""Tables too large for memory: read in batches of rows, written as they come.

A CSV is read as text (each value checked by the caller, core/rows.py, so that one
bad value rejects its row, never the file); Parquet in its own types. A folder is its
tables in name order. An output is written beside its final name and takes that name
only once complete: a failed run leaves nothing half-written.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from .tables import READERS, UnreadableTable

CSV_BLOCK_BYTES = 16 << 20  # a CSV batch: about 200,000 rows of a few short columns
HEADER_BYTES = 64 << 10  # what reading a CSV's header reads


def table_files(path: Path) -> list[Path]:
    """The table at `path`, or the tables in the folder `path`, in name order."""
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix.lower() in READERS and p.is_file())
        if not found:
            raise UnreadableTable(f"{path} holds no .csv or .parquet table")
        return found
    if not path.exists():
        raise UnreadableTable(f"{path} does not exist: name a .csv or .parquet file, or a folder")
    if path.suffix.lower() not in READERS:
        raise UnreadableTable(f"{path}: a table must be .csv or .parquet, not {path.suffix!r}")
    return [path]


def schema_of(path: Path) -> pa.Schema:
    """The columns of the table at `path`, from its header alone, typed as `read_batches`
    gives them: a CSV's as text, a Parquet file's as stored."""
    try:
        if path.suffix.lower() == ".csv":
            read = pa_csv.ReadOptions(block_size=HEADER_BYTES)
            with pa_csv.open_csv(path, read_options=read) as reader:
                return pa.schema([(name, pa.string()) for name in reader.schema.names])
        return pq.ParquetFile(path).schema_arrow
    except (pa.ArrowInvalid, OSError) as error:
        raise UnreadableTable(f"{path} is not a readable table ({error})") from None


def read_batches(path: Path, columns: list[str], rows: int) -> Iterator[pd.DataFrame]:
    """`columns` of the table at `path`, `rows` at a time (a CSV's: a block's worth)."""
    try:
        if path.suffix.lower() == ".csv":
            convert = pa_csv.ConvertOptions(
                include_columns=columns,
                column_types=dict.fromkeys(columns, pa.string()),
                strings_can_be_null=True,
            )
            read = pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES)
            with pa_csv.open_csv(path, read_options=read, convert_options=convert) as reader:
                for batch in reader:
                    yield batch.to_pandas()
            return
        for batch in pq.ParquetFile(path).iter_batches(batch_size=rows, columns=columns):
            yield batch.to_pandas()
    except (pa.ArrowInvalid, OSError) as error:
        raise UnreadableTable(f"{path} could not be read to its end ({error})") from None


class ParquetOutput:
    """A Parquet file of `schema` written batch by batch, at `path` only once closed
    without error; with no rows, an empty file if `keep_empty`, else no file at all (and
    none left from an earlier run)."""

    def __init__(self, path: Path, schema: pa.Schema, keep_empty: bool = True) -> None:
        self.path, self.partial = path, path.with_name(f".{path.name}.partial")
        self.schema, self.keep_empty = schema, keep_empty
        self.rows = 0

    def __enter__(self) -> "ParquetOutput":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = pq.ParquetWriter(self.partial, self.schema)
        return self

    def write(self, table: pd.DataFrame) -> None:
        if not table.empty:
            batch = pa.Table.from_pandas(table, schema=self.schema, preserve_index=False)
            self.writer.write_table(batch)
            self.rows += len(table)

    def __exit__(self, kind, error, traceback) -> None:
        self.writer.close()
        if kind is None and (self.rows or self.keep_empty):
            os.replace(self.partial, self.path)
            return
        self.partial.unlink(missing_ok=True)
        if kind is None:
            self.path.unlink(missing_ok=True)
