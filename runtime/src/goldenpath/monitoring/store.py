"""Where predictions and their outcomes are kept: a folder of JSON Lines, or Postgres.

PREDICTION_LOG names the store, for the service that writes it and the jobs that read it:
- a folder (default `logs/`, gitignored): `predictions/date=YYYY-MM-DD/hour=HH/*.jsonl`,
  one file per writing process and hour, and `outcomes/*.jsonl`;
- `postgresql://USER@HOST:PORT/DATABASE`: tables `predictions` and `outcomes`, created
  when missing; the password comes from PREDICTION_LOG_PASSWORD, or from the file
  PREDICTION_LOG_PASSWORD_FILE names (a compose secret), never from the URL;
- `off`: nothing is recorded.

A prediction record: its time (UTC), the request's key (the contract's, e.g. order_id;
null when the client sent none), the model's name and version, the validated features
and the prediction (a binary classifier's: its probability of the positive class; a
multiclass one's: the probability of its most likely class, with every class's in
`probabilities`, in the contract's order of classes). An outcome: the key and the
target's actual value (a classifier's: the class).
"""

import json
import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
from pydantic_core import to_json

from ..core import timestamps
from ..core.contract import Contract
from ..core.problems import Problem

LOCATION, DEFAULT = "PREDICTION_LOG", "logs"
PASSWORD, PASSWORD_FILE = "PREDICTION_LOG_PASSWORD", "PREDICTION_LOG_PASSWORD_FILE"
OFF = "off"
META = ("time", "model_name", "model_version")  # besides the key, the features and prediction
PREDICTION = "prediction"
PROBABILITIES = "probabilities"  # a multiclass model's, a list per prediction


class StoreProblem(Problem):
    pass


@dataclass(frozen=True)
class Entry:
    """One answered request, as the service hands it over: its rows and, for each, the
    prediction and the model that made it, as "name/version" (serving/routing.py)."""

    time: datetime
    rows: Sequence[dict[str, Any]]
    answers: Sequence[tuple[float, str]]
    probabilities: Sequence[Sequence[float]] | None = None  # a multiclass model's, per row


class Store(Protocol):
    def write(self, entries: Sequence[Entry]) -> None: ...
    def predictions(self, since: datetime, until: datetime) -> pd.DataFrame: ...
    def add_outcomes(self, outcomes: pd.DataFrame) -> None: ...
    def outcomes(self, keys: Sequence[int]) -> pd.DataFrame: ...


def open_store(contract: Contract, location: str | None = None) -> Store | None:
    """The store PREDICTION_LOG names (`location` instead, if given); None when it is off."""
    location = location or os.environ.get(LOCATION) or DEFAULT
    if location == OFF:
        return None
    if location.startswith(("postgresql://", "postgres://")):
        return PostgresStore(contract, location, _password())
    if "://" in location:
        raise StoreProblem(
            f"{LOCATION}={location!r}: give a folder, a postgresql:// URL or `{OFF}`"
        )
    return FolderStore(contract, Path(location))


def with_outcomes(store: Store, contract: Contract, since: datetime, until: datetime):
    """The predictions of [since, until), each with its outcome (NaN while unknown)."""
    logged = store.predictions(since, until)
    target = contract.target.name
    kind = object if contract.target.is_categorical else float  # a class, or a number
    if logged.empty:
        return logged.assign(**{target: pd.Series(dtype=kind)})
    known = logged[contract.key].dropna().astype("int64").unique().tolist()
    outcomes = store.outcomes(known).drop_duplicates(contract.key, keep="last")
    joined = logged.merge(outcomes, on=contract.key, how="left")
    return joined.assign(**{target: joined[target].astype(kind)})


def _password() -> str | None:
    if os.environ.get(PASSWORD):
        return os.environ[PASSWORD]
    if os.environ.get(PASSWORD_FILE):
        return Path(os.environ[PASSWORD_FILE]).read_text().rstrip("\n")
    return None


def _records(contract: Contract, entries: Iterable[Entry]) -> Iterable[dict[str, Any]]:
    names, key, times = contract.feature_names, contract.key, set(contract.timestamps)
    for entry in entries:
        every = entry.probabilities or [None] * len(entry.rows)
        for row, (predicted, model), probabilities in zip(
            entry.rows, entry.answers, every, strict=True
        ):
            name, _, version = model.rpartition("/")
            record = {
                "time": entry.time,
                key: row.get(key),
                "model_name": name,
                "model_version": version,
                "features": {  # JSON's: a timestamp as ISO 8601 text
                    name: timestamps.as_text(row[name]) if name in times else row[name]
                    for name in names
                },
                PREDICTION: predicted,
            }
            if contract.task == "multiclass":
                record[PROBABILITIES] = None if probabilities is None else list(probabilities)
            yield record


def _table(contract: Contract, records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Records as one row each: the key, META, the features as columns, the prediction (and
    a multiclass model's probabilities, a list each)."""
    columns = [contract.key, *META, *contract.feature_names, PREDICTION]
    columns += [PROBABILITIES] if contract.task == "multiclass" else []
    if not records:
        return pd.DataFrame(columns=columns)
    features = pd.DataFrame([record["features"] for record in records])
    table = pd.DataFrame(records).drop(columns="features").join(features)
    if PROBABILITIES in columns and PROBABILITIES not in table:  # a log from before
        table[PROBABILITIES] = None
    # Nullable integers: beside a prediction without a key, a column of floats would round
    # keys beyond 2**53 (a bigint's range) and lose their outcomes' join.
    table[contract.key] = pd.array([record[contract.key] for record in records], dtype="Int64")
    table["time"] = pd.to_datetime(table["time"], utc=True, format="ISO8601")
    for name in contract.timestamps:
        table[name] = timestamps.parsed(table[name])
    return table[columns].sort_values("time", kind="stable").reset_index(drop=True)


class FolderStore:
    def __init__(self, contract: Contract, root: Path) -> None:
        self.contract = contract
        self.root = root
        self.writer = f"{socket.gethostname()}-{os.getpid()}"  # one file per process and hour

    def write(self, entries: Sequence[Entry]) -> None:
        by_hour: dict[str, list[Entry]] = {}
        for entry in entries:  # times are UTC: "2026-03-02T14" names the hour
            by_hour.setdefault(entry.time.isoformat()[:13], []).append(entry)
        for hour, logged in by_hour.items():
            folder = self.root / "predictions" / f"date={hour[:10]}" / f"hour={hour[11:]}"
            folder.mkdir(parents=True, exist_ok=True)
            lines = b"\n".join(map(to_json, _records(self.contract, logged)))
            with (folder / f"{self.writer}.jsonl").open("ab") as out:
                out.write(lines + b"\n")

    def predictions(self, since: datetime, until: datetime) -> pd.DataFrame:
        records, hour = [], since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        while hour < until:
            folder = self.root / "predictions" / f"date={hour:%Y-%m-%d}" / f"hour={hour:%H}"
            for path in sorted(folder.glob("*.jsonl")):
                # A record is a line that ends in "\n": the last may still be being written
                # (a service logs as this reads). Only "\n" ends one: a value may hold
                # U+2028 or \x1c, at which str.splitlines would also break.
                # Bytes, so that a character cut by a write in progress is never decoded.
                lines = path.read_bytes().split(b"\n")[:-1]
                records += [json.loads(line) for line in lines if line]
            hour += timedelta(hours=1)
        table = _table(self.contract, records)
        return table[(table["time"] >= since) & (table["time"] < until)].reset_index(drop=True)

    def add_outcomes(self, outcomes: pd.DataFrame) -> None:
        folder = self.root / "outcomes"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{os.getpid()}.jsonl"
        partial = folder / f".{name}.partial"  # renamed once whole: no reader sees half a file
        outcomes.to_json(partial, orient="records", lines=True)
        partial.rename(folder / name)

    def outcomes(self, keys: Sequence[int]) -> pd.DataFrame:
        columns = [self.contract.key, self.contract.target.name]
        files = sorted((self.root / "outcomes").glob("*.jsonl"))  # oldest first: later ones win
        tables = [pd.read_json(path, lines=True, dtype=False) for path in files]
        table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=columns)
        return table.loc[table[self.contract.key].isin(keys), columns]


class PostgresStore:
    def __init__(self, contract: Contract, url: str, password: str | None) -> None:
        self.contract = contract
        self.url = url
        self.password = password
        self._connection = None

    def connection(self):
        import psycopg  # imported here: a folder store needs no database driver

        if self._connection is None or self._connection.closed:
            try:
                self._connection = psycopg.connect(
                    self.url, password=self.password, autocommit=True, connect_timeout=5
                )
            except psycopg.OperationalError as error:
                where = self.url.split("@")[-1]
                raise StoreProblem(
                    f"cannot reach the prediction store at {where}: {error}"
                ) from None
            self._create_tables()
        return self._connection

    def _create_tables(self) -> None:
        # The key's and target's names are the contract's (code, not input): quoted identifiers.
        key, target = self.contract.key, self.contract.target.name
        outcome = "text" if self.contract.target.is_categorical else "double precision"
        for statement in (
            f'CREATE TABLE IF NOT EXISTS predictions (time timestamptz NOT NULL, "{key}" bigint, '
            "model_name text NOT NULL, model_version text NOT NULL, features jsonb NOT NULL, "
            "prediction double precision NOT NULL, probabilities jsonb)",
            "CREATE INDEX IF NOT EXISTS predictions_time ON predictions (time)",
            f'CREATE TABLE IF NOT EXISTS outcomes ("{key}" bigint PRIMARY KEY, '
            f'"{target}" {outcome} NOT NULL, recorded timestamptz NOT NULL DEFAULT now())',
        ):
            self._connection.execute(statement)
        # A stack's table from before a multiclass model's probabilities were logged gains
        # the column, once: an ALTER at every connection would lock the table each time.
        found = self._connection.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = 'predictions' AND column_name = 'probabilities'"
        ).fetchone()
        if found is None:
            self._connection.execute("ALTER TABLE predictions ADD COLUMN probabilities jsonb")

    def write(self, entries: Sequence[Entry]) -> None:
        from psycopg.types.json import Jsonb

        key = self.contract.key
        try:
            with (
                self.connection().cursor() as cursor,
                cursor.copy(
                    f'COPY predictions (time, "{key}", model_name, model_version, features, '
                    "prediction, probabilities) FROM STDIN"
                ) as copy,
            ):
                for record in _records(self.contract, entries):
                    copy.write_row(
                        (
                            record["time"],
                            record[key],
                            record["model_name"],
                            record["model_version"],
                            Jsonb(record["features"]),
                            record[PREDICTION],
                            _jsonb(record.get(PROBABILITIES)),
                        )
                    )
        except Exception:
            self._connection = None  # a fresh connection next time (the server restarted?)
            raise

    def predictions(self, since: datetime, until: datetime) -> pd.DataFrame:
        query = (
            f'SELECT time, "{self.contract.key}", model_name, model_version, features, prediction,'
            " probabilities FROM predictions WHERE time >= %s AND time < %s ORDER BY time"
        )
        with self.connection().cursor() as cursor:
            cursor.execute(query, (since, until))
            names = [column.name for column in cursor.description]
            return _table(
                self.contract, [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            )

    def add_outcomes(self, outcomes: pd.DataFrame) -> None:
        key, target = self.contract.key, self.contract.target.name
        upsert = (
            f'INSERT INTO outcomes ("{key}", "{target}") VALUES (%s, %s) ON CONFLICT ("{key}") '
            f'DO UPDATE SET "{target}" = EXCLUDED."{target}", recorded = now()'
        )
        rows = list(zip(outcomes[key].tolist(), outcomes[target].tolist(), strict=True))
        with self.connection().transaction(), self.connection().cursor() as cursor:
            cursor.executemany(upsert, rows)  # all of them, or none

    def outcomes(self, keys: Sequence[int]) -> pd.DataFrame:
        key, target = self.contract.key, self.contract.target.name
        with self.connection().cursor() as cursor:
            cursor.execute(
                f'SELECT "{key}", "{target}" FROM outcomes WHERE "{key}" = ANY(%s)', (list(keys),)
            )
            return pd.DataFrame(cursor.fetchall(), columns=[key, target])


def _jsonb(value: Any) -> Any:
    from psycopg.types.json import Jsonb

    return None if value is None else Jsonb(value)
