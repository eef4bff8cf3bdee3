"""A trained project's prediction service, run for real (uvicorn on a port), as clients meet it.

Slow: it shares the session's trained project (conftest.py) and starts the
service it needs for each scenario: fuzzed and malformed requests, the API key,
a slow body, a busy port, overload, and a stop under load.
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from statistics import median

import pytest

from .conftest import run

pytestmark = pytest.mark.slow
PACKAGE = "eta_predictor"
KEY = "template-tests-0123456789abcdef"
BEARER = {"Authorization": f"Bearer {KEY}"}
STARTUP_SECONDS = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Service:
    """`python -m goldenpath.serving` in `project`, its log in a file."""

    def __init__(self, project: Path, port: int | None = None, **env: str) -> None:
        self.port = port or free_port()
        self.log = project.parent / f"serve-{self.port}-{time.monotonic_ns()}.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [str(project / ".venv" / "bin" / "python"), "-m", "goldenpath.serving"],
                cwd=project,
                env=os.environ | {"PORT": str(self.port)} | env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def request(self, method: str, path: str, body=None, headers=None, timeout: float = 30):
        """(status, headers, body) of one request on a connection of its own."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
            headers = {"Content-Type": "application/json"} | (headers or {})
            connection.request(method, path, data, headers)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def wait_ready(self) -> "Service":
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "\n".join(self.lines())
            try:
                if self.request("GET", "/ready", timeout=2)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        pytest.fail(f"not ready within {STARTUP_SECONDS} s:\n" + "\n".join(self.lines()))

    def stop(self) -> bool:
        """SIGTERM; whether the service then shut down in order (uvicorn re-raises the
        signal once it has, so the exit status is -SIGTERM)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        return code in (0, -signal.SIGTERM) and "Finished server process" in self.lines()[-1]


@pytest.fixture(scope="module")
def keyed(trained: Path):
    """The champion behind an API key, with a short body timeout."""
    service = Service(trained, SERVE_API_KEY=KEY, BODY_TIMEOUT_S="2").wait_ready()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def example(trained: Path) -> dict:
    return json.loads(run("make -s example", trained).stdout)


def requests_counted(service: Service) -> int:
    metrics = service.request("GET", "/metrics", headers=BEARER)[2].decode()
    counts = re.findall(r"^http_requests_total\{.*\} (\S+)$", metrics, re.M)
    return int(sum(map(float, counts)))


def test_the_start_names_the_model_and_how_it_is_served(keyed: Service) -> None:
    [line] = [line for line in keyed.lines() if "serving eta-predictor" in line]
    assert re.search(r"version 1 from models/champion: compiled predict, [\d.]+ ms per call", line)


def test_the_project_api_suite_passes_against_the_running_service(trained, keyed) -> None:
    """The project's TestApi (the runtime's suite, tests/test_goldenpath.py) at SERVICE_URL,
    with the key: malformed requests, the OpenAPI document, fuzzing, as a client meets them."""
    lines_before, requests_before = len(keyed.lines()), requests_counted(keyed)
    result = run(
        "uv run --frozen pytest tests/test_goldenpath.py -k TestApi -q -p no:cacheprovider",
        trained,
        SERVICE_URL=f"http://127.0.0.1:{keyed.port}",
        SERVE_API_KEY=KEY,
    )
    assert re.search(r"\d+ passed", result.stdout) and "failed" not in result.stdout
    requests = requests_counted(keyed) - requests_before
    logged = keyed.lines()[lines_before:]
    assert requests > 300
    assert len(logged) <= requests and not any("Traceback" in line for line in logged)


def test_the_api_key_guards_predict_version_and_metrics_not_health(keyed, example) -> None:
    for method, path in (("POST", "/predict"), ("GET", "/version"), ("GET", "/metrics")):
        body = example if method == "POST" else None
        status, headers, answer = keyed.request(method, path, body)
        assert status == 401 and headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer" in json.loads(answer)["detail"]
        assert keyed.request(method, path, body, {"Authorization": "Bearer " + KEY[:-1]})[0] == 401
        assert keyed.request(method, path, body, BEARER)[0] == 200
    assert keyed.request("GET", "/health")[0] == 200 and keyed.request("GET", "/ready")[0] == 200


def test_a_body_that_never_arrives_gets_408_and_the_connection_closed(keyed) -> None:
    with socket.create_connection(("127.0.0.1", keyed.port), timeout=10) as client:
        client.sendall(
            b"POST /predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + KEY.encode() + b"\r\nContent-Length: 1000\r\n\r\n{"
        )
        start = time.monotonic()
        reply = b""
        while chunk := client.recv(65536):  # until the service closes the connection
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408") and b"connection: close" in head.lower()
    assert "did not arrive within 2 s" in json.loads(body)["detail"]
    assert 1.5 < time.monotonic() - start < 8


def test_a_busy_port_is_reported_before_the_model_loads(trained, keyed) -> None:
    second = Service(trained, port=keyed.port)
    assert second.process.wait(timeout=60) != 0
    log = "\n".join(second.lines())
    assert f"cannot listen on 127.0.0.1:{keyed.port}" in log and "set PORT" in log
    assert "serving eta-predictor" not in log and "startup" not in log
    assert keyed.request("GET", "/health")[0] == 200  # the first one is unharmed


@pytest.fixture(scope="module")
def slow_model(trained: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """conf/'s random forest (its n_jobs: -1 included), with 300 trees: a model call slow
    enough for its own thread on any machine, so orders queue while it runs."""
    path = tmp_path_factory.mktemp("random-forest") / "model"
    script = f"""
import yaml
from pathlib import Path
from goldenpath.core import model_io
from goldenpath.core.modeling import build_model
from goldenpath.core.params import ModelParams
from {PACKAGE}.usecase import CONTRACT
config = yaml.safe_load(Path("conf/model/random_forest.yaml").read_text()) | {{"n_estimators": 300}}
model = build_model(CONTRACT, ModelParams.model_validate(config))
rows = CONTRACT.samples(3000)
features = rows[CONTRACT.feature_names]
model.fit(features, rows[CONTRACT.target.name])
trusted = model_io.trusted_types(model, "sklearn")
model_io.save_model(model, Path("{path}"), trusted, {{}}, features)
"""
    run(f"uv run --frozen python -c '{script}'", trained)
    return path


def test_overload_is_refused_at_once_and_health_checks_stay_quick(trained, slow_model, example):
    """More orders waiting than MAX_QUEUED_ORDERS: 503 with Retry-After, never an error; the
    model runs in its own thread, so the event loop answers health checks meanwhile."""
    service = Service(trained, MODEL_URI=str(slow_model), MAX_QUEUED_ORDERS="1000").wait_ready()
    answers: list[tuple[int, dict, bytes, float]] = []
    health_checks: list[float] = []

    def client() -> None:
        for _ in range(4):
            start = time.perf_counter()
            status, headers, body = service.request("POST", "/predict", [example] * 1000)
            answers.append((status, headers, body, time.perf_counter() - start))

    try:
        clients = [threading.Thread(target=client) for _ in range(24)]
        for thread in clients:
            thread.start()
        while any(thread.is_alive() for thread in clients):
            start = time.perf_counter()
            assert service.request("GET", "/health")[0] == 200
            health_checks.append(time.perf_counter() - start)
            time.sleep(0.05)
    finally:
        assert service.stop()
    [line] = [line for line in service.lines() if "serving unregistered" in line]
    assert "compiled predict" in line and "on the thread" in line
    statuses = Counter(status for status, *_ in answers)
    assert set(statuses) == {200, 503} and len(answers) == 96, statuses
    refused = [(headers, body) for status, headers, body, _ in answers if status == 503]
    assert all(headers["retry-after"] == "1" and b"retry" in body for headers, body in refused)
    times = {
        status: [seconds for answered, *_, seconds in answers if answered == status]
        for status in statuses
    }
    assert median(times[503]) < median(times[200])  # refused at once, not after waiting
    assert median(health_checks) < median(times[200]) / 2  # not behind model calls


def test_sigterm_stops_accepting_and_answers_every_request_it_has(trained, example) -> None:
    """A load runs through a stop: every request sent is answered; then connections are refused."""
    service = Service(trained).wait_ready()
    body = json.dumps(example).encode()
    stopped = threading.Event()
    outcomes: Counter[str] = Counter()

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
        while True:
            try:
                connection.request("POST", "/predict", body, {"Content-Type": "application/json"})
            except ConnectionRefusedError:  # not accepted: the service no longer listens
                outcomes["refused"] += 1
                return
            try:
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):  # sent, never answered: lost
                outcomes["lost"] += 1
                return
            after_stop = "after the stop" if stopped.is_set() else "before"
            outcomes[f"{response.status} {after_stop}"] += 1

    clients = [threading.Thread(target=client) for _ in range(16)]
    for thread in clients:
        thread.start()
    time.sleep(2)
    stopped.set()
    in_order = service.stop()
    for thread in clients:
        thread.join(timeout=60)
    assert in_order and outcomes["lost"] == 0, outcomes
    assert outcomes["200 before"] > 0 and outcomes["200 after the stop"] > 0, outcomes
    assert outcomes["refused"] == len(clients), outcomes  # each client's last try, after the stop
    assert set(outcomes) == {"200 before", "200 after the stop", "refused"}, outcomes
