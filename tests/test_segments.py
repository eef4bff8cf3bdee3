"""One model per city, for real: a per-city experiment, then the same on a two-worker cluster.

Slow: shares the trained project of conftest.py and puts it back.
"""

import json
import socket
import subprocess
from pathlib import Path

import pytest

from .conftest import DVC, ask_registry, restore, run

pytestmark = pytest.mark.slow
CITIES = ["barcelona", "lisbon", "madrid", "milan", "porto"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def cluster(trained: Path):
    """A Dask scheduler and two workers, each a process of the project's environment."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [str(trained / ".venv" / "bin" / "dask")]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": trained}
    scheduler = [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]
    processes = [subprocess.Popen(scheduler, **quiet)]
    worker = [*dask, "worker", address, "--nthreads", "1", "--no-dashboard"]
    processes += [subprocess.Popen(worker, **quiet) for _ in range(2)]
    count = (
        "from distributed import Client; import sys;"
        f" c = Client('{address}', timeout='30s'); c.wait_for_workers(2, timeout=60)"
    )
    run(f'uv run --frozen python -c "{count}"', trained)
    yield address
    for process in processes:
        process.terminate()
        process.wait(timeout=30)


ROUTE = """\
import json
from fastapi.testclient import TestClient
from goldenpath.serving.app import create_app
from eta_predictor.usecase import CONTRACT

cities = ["barcelona", "lisbon", "madrid", "milan", "porto"]
orders = [CONTRACT.example | {"city": city} for city in cities]
with TestClient(create_app("models/champion")) as client:
    answer = client.post("/predict", json=orders).json()
print(json.dumps(dict(zip(cities, answer["models"]))))
"""


def route_one_order_per_city(project: Path) -> dict[str, str]:
    """The model the service answers each city's order with."""
    script = project / "build" / "route.py"
    script.parent.mkdir(exist_ok=True)
    script.write_text(ROUTE)
    return json.loads(run(f"uv run --frozen python {script}", project).stdout.splitlines()[-1])


def segment_metrics(project: Path) -> dict:
    return json.loads((project / "metrics.json").read_text())["segments"]


def test_per_city_models_on_local_workers_then_on_a_cluster(trained: Path, cluster: str) -> None:
    try:
        local = run(f"{DVC} exp run -S segment=per_city", trained).stdout
        assert "5 tasks on a local cluster" in local
        decision = json.loads((trained / "reports" / "registration.json").read_text())
        assert sorted(decision["segments"]) == CITIES
        for city, gate in decision["segments"].items():
            assert gate["promoted"], city
            champion = f"client.get_model_version_by_alias('eta-predictor-{city}', 'champion')"
            assert str(ask_registry(trained, f"{champion}.version")) == "1"
        local_metrics = segment_metrics(trained)
        assert all("own_mae" in figures for figures in local_metrics.values())
        shown = run(f"{DVC} metrics show --json", trained).stdout
        assert "own_model_wins" in shown
        served = [
            city
            for city in CITIES
            if json.loads(
                (trained / "models" / "champion" / "segments" / city / "champion.json").read_text()
            )["serves"]
        ]
        assert served == [c for c in CITIES if decision["segments"][c]["serves"]]
        assert route_one_order_per_city(trained) == {
            city: f"eta-predictor-{city}/1" if city in served else "eta-predictor/1"
            for city in CITIES
        }

        # The same training on the cluster: the same models, so the same figures.
        on_cluster = run(
            f"{DVC} exp run --force -S segment=per_city", trained, DASK_SCHEDULER_ADDRESS=cluster
        ).stdout
        assert f"5 tasks on {cluster}" in on_cluster
        assert segment_metrics(trained) == local_metrics
        again = json.loads((trained / "reports" / "registration.json").read_text())
        for city, gate in again["segments"].items():
            assert not gate["promoted"], city  # no better than itself: the champion stays
            champion = f"client.get_model_version_by_alias('eta-predictor-{city}', 'champion')"
            assert str(ask_registry(trained, f"{champion}.version")) == "1"
    finally:
        restore(trained)
