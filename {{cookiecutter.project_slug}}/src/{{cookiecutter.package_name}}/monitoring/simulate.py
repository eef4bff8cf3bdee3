"""Replay a week of orders against a running service, then report what actually happened.

    python -m {{ cookiecutter.package_name }}.monitoring.simulate WEEK [--url URL] [--orders N]
    (or: make simulate WEEK=normal|changed, against `make serve`)

- normal: a week like the training data: new orders, the same dynamics;
- changed: a storm in Porto, where streets flood and most couriers stay home: its
  weather, its courier load and its delivery times move; the other cities do not.

Each order goes to URL/predict with a fresh order_id, one order per request, several
at a time; then the orders' actual delivery times go to the prediction store as
outcomes (outcomes.py), as a delivery system would report them. It ends by printing
the window that `make monitor` should look at. The orders come from the example
generator (synthetic.py): this is a demonstration of the loop, on its dynamics.
"""

import argparse
import http.client
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from ..core.problems import Problem, report_problems
from ..synthetic import CITIES, generate_orders
from ..usecase import USE_CASE
from .outcomes import add_outcomes
from .store import open_store

STORM = {"storm": 0.7, "rain": 0.3}
WEEKS = {
    "normal": CITIES,
    "changed": CITIES
    | {"porto": replace(CITIES["porto"], speed_kmh=11.0, weather=STORM, couriers=0.4)},
}
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
    parser.add_argument("week", choices=sorted(WEEKS))
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running service")
    parser.add_argument("--orders", type=int, default=10_000, help="orders in the week")
    parser.add_argument("--seed", type=int, default=None, help="default: a new week each time")
    args = parser.parse_args()
    contract = USE_CASE.contract
    seed = args.seed if args.seed is not None else time.time_ns() % 2**32
    week = generate_orders(args.orders, seed, WEEKS[args.week])
    week[contract.key] = time.time_ns() // 1000 + week.index  # unique across replays
    start = datetime.now(UTC)
    answered = replay(args.url, week[[contract.key, *contract.feature_names]].to_dict("records"))
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


if __name__ == "__main__":
    report_problems(main)
