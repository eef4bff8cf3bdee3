"""Replay a week of orders against a running service, then report what actually happened.

    python -m goldenpath.monitoring.simulate WEEK [--url URL] [--orders N]
    (or: make simulate WEEK=..., against `make serve`)

A week is one of the use case's scenarios (UseCase.scenarios: a name and a generator of
labelled rows each; the example's are a normal week and one that changed), or a labelled
table of the team's own (a .csv or .parquet file, checked against the contract). Each order
goes to URL/predict with a fresh order_id, one order per request, several at a time;
then the orders' actual outcomes go to the prediction store (outcomes.py), as a
delivery system would report them. It ends by printing the window that `make monitor`
should look at: a demonstration of the loop, on the scenario's dynamics.
"""

import argparse
import http.client
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd

from ..core.params import PARAMS_FILE, load_params
from ..core.problems import Problem, report_problems
from ..core.project import use_case
from ..io.sources import SYNTHETIC
from ..io.tables import READERS, read_table
from .outcomes import add_outcomes
from .store import open_store

CLIENTS = 8  # requests in flight at once


class ReplayFailed(Problem):
    pass


def replay(url: str, orders: list[dict]) -> int:
    """POST each order to url/predict; returns how many were answered 200."""
    parts, local = urlsplit(url), threading.local()

    def post(order: dict) -> bool:
        if not hasattr(local, "connection"):  # one kept-alive connection per client thread
            local.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        headers = {"Content-Type": "application/json"}
        try:
            local.connection.request("POST", "/predict", json.dumps(order), headers)
            response = local.connection.getresponse()
            response.read()
            return response.status == 200
        except (OSError, http.client.HTTPException):
            local.connection.close()
            del local.connection
            return False

    with ThreadPoolExecutor(CLIENTS) as clients:
        return sum(clients.map(post, orders))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    case = use_case()
    weeks, contract = case.scenarios, case.contract
    parser.add_argument(
        "week", help=f"a scenario ({', '.join(sorted(weeks)) or 'none'}) or a .csv/.parquet table"
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running service")
    parser.add_argument("--orders", type=int, default=10_000, help="a scenario's orders")
    parser.add_argument("--seed", type=int, default=None, help="default: a new week each time")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else time.time_ns() % 2**32
    week = _week(args.week, weeks, contract, args.orders, seed)
    needed = [*contract.feature_names, contract.target.name]
    if missing := [name for name in needed if name not in week.columns]:
        raise ReplayFailed(
            f"the {args.week!r} week (UseCase.scenarios, usecase.py) makes no {missing}: the "
            "contract has them, its generator does not. Add them to the generator (synthetic.py)"
            " or give the use case scenarios that make every feature and the target"
        )
    week[contract.key] = time.time_ns() // 1000 + week.index  # unique across replays
    start = datetime.now(UTC)
    answered = replay(args.url, contract.requests(week, keyed=True))
    end = datetime.now(UTC) + timedelta(seconds=2)  # the service's log writes every second
    if answered < len(week):
        raise ReplayFailed(
            f"{len(week) - answered} of {len(week)} orders were not answered by {args.url}: "
            "is the service running (make serve), and ready? On another port: make simulate "
            "URL=http://127.0.0.1:PORT"
        )
    time.sleep(2)
    store = open_store(contract)
    delivered = week[[contract.key, contract.target.name]]
    stored = add_outcomes(store, delivered, f"the {args.week} week") if store else 0
    since, until = (moment.strftime("%Y-%m-%dT%H:%M:%S") for moment in (start, end))
    window = f"monitor.since={since} monitor.until={until}"
    print(
        f"{args.week} week: {answered} orders predicted by {args.url}, {stored} outcomes stored.\n"
        f"Monitor exactly this week: make monitor ARGS='{window}'"
    )


def _week(name: str, weeks: dict, contract, orders: int, seed: int) -> pd.DataFrame:
    """The labelled orders `name` stands for: a scenario's, or a table's, checked."""
    if Path(name).suffix.lower() in READERS:
        table = read_table(name)
        keyed = table.assign(**{contract.key: range(len(table))})  # replaced when sent
        return contract.validate(keyed, name).reset_index(drop=True)
    if name not in weeks:
        scenarios = f"its scenarios are {sorted(weeks)}" if weeks else "it has no scenarios"
        raise ReplayFailed(
            f"{name!r} is no scenario of the use case (usecase.py: {scenarios}) and no table: "
            "name one, or a labelled .csv or .parquet file of your own orders"
        )
    source = load_params().data.source if PARAMS_FILE.exists() else SYNTHETIC
    if source != SYNTHETIC:
        print(
            f"note: the {name!r} week is the example generator's (synthetic.py), the model "
            f"learnt from {source}: `make monitor` may see drift that is only the difference. "
            "Replay your own orders: make simulate WEEK=path/to/orders.csv",
            file=sys.stderr,
        )
    return weeks[name](orders, seed)


if __name__ == "__main__":
    report_problems(main)
