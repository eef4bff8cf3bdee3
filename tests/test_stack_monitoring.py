"""The stack's monitoring profile, for real: Prometheus scraping the service with the alerting
rules, the Evidently UI, the prediction log in Postgres; and the rules' unit tests.

Runs on test_stack.py's stack (conftest.py), after test_stack.py and before
test_stack_release.py, which ends it.
"""

import json
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import bake, read_env, run
from .test_stack import compose_states

pytestmark = pytest.mark.slow


def get(port: str, path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return json.loads(response.read())


def eventually(check, seconds: float, what: str):
    """check()'s first truthy answer within `seconds`, polled every 2 s."""
    deadline = time.monotonic() + seconds
    while not (answer := check()):
        assert time.monotonic() < deadline, f"{what}: not within {seconds:.0f} s"
        time.sleep(2)
    return answer


def firing(port: str, name: str) -> bool:
    alerts = get(port, "/api/v1/alerts")["data"]["alerts"]
    return any(a["labels"]["alertname"] == name and a["state"] == "firing" for a in alerts)


def test_promtool_unit_tests_pass_and_catch_a_broken_rule(engine, tmp_path) -> None:
    project = bake(tmp_path / "project")
    assert "SUCCESS" in run("make alerts-test", project).stdout
    broken = project / "compose" / "prometheus" / "rules.yml"
    broken.write_text(broken.read_text().replace("> 0.01", "> 0.5", 1))  # 5 % errors ignored
    failed = run("make alerts-test", project, check=False)
    assert failed.returncode != 0 and "PredictionErrorRate" in failed.stdout + failed.stderr


@pytest.fixture(scope="module")
def monitoring(stack: Path) -> Path:
    run("make monitoring-up", stack)
    yield stack
    run("docker compose --profile monitoring rm -sfv prometheus evidently", stack, check=False)


def test_prometheus_and_the_evidently_ui_are_up_on_loopback(monitoring: Path) -> None:
    states = compose_states(monitoring)
    assert states["prometheus"] == "healthy" and states["evidently"] == "healthy"
    ports = run("docker compose --profile monitoring ps --format '{{.Ports}}'", monitoring).stdout
    assert "0.0.0.0" not in ports and "[::]" not in ports
    for service in ("prometheus", "evidently"):
        user = run(f"docker compose exec -T {service} id -u", monitoring).stdout.strip()
        assert user != "0", service
    env = read_env(monitoring)

    def serve_is_up():
        targets = get(env["PROMETHEUS_PORT"], "/api/v1/targets")["data"]["activeTargets"]
        return [t for t in targets if t["labels"]["job"] == "serve" and t["health"] == "up"]

    eventually(serve_is_up, 60, "Prometheus scraping the service")
    rules = get(env["PROMETHEUS_PORT"], "/api/v1/rules")["data"]["groups"][0]["rules"]
    assert {"PredictionServiceDown", "PredictionErrorRate", "PredictionMeanShift"} <= {
        rule["name"] for rule in rules
    }


def test_a_changed_week_on_the_stack_is_logged_scraped_and_reported(monitoring: Path) -> None:
    env = read_env(monitoring)
    replayed = run("make simulate-on-stack WEEK=changed ORDERS=3000", monitoring).stdout
    args = replayed.split("ARGS='")[1].split("'")[0]
    monitored = run(f"make monitor-on-stack ARGS='{args}'", monitoring, check=False)
    assert monitored.returncode != 0, monitored.stdout + monitored.stderr  # make: 2
    summary = json.loads((monitoring / "reports" / "monitoring" / "summary.json").read_text())
    assert summary["window"]["predictions"] == 3000 == summary["window"]["with_outcomes"]
    assert summary["moved"]["segments"] == ["porto"]
    # The report reached the stack's Evidently UI, in the registered model's project.
    projects = get(env["EVIDENTLY_PORT"], "/api/projects")
    project = next(p for p in projects if p["name"] == "stack-check")
    assert get(env["EVIDENTLY_PORT"], f"/api/projects/{project['id']}/snapshots")
    # Prometheus has the predictions: by model version, and by city.
    query = "/api/v1/query?query=sum(predicted_orders_total)"

    def scraped():
        result = get(env["PROMETHEUS_PORT"], query)["data"]["result"]
        return result and float(result[0]["value"][1]) >= 3000

    eventually(scraped, 30, "the predictions in Prometheus")
    by_city = "/api/v1/query?query=count%20by%20(city)(prediction_count)"
    cities = get(env["PROMETHEUS_PORT"], by_city)
    assert {r["metric"]["city"] for r in cities["data"]["result"]} >= {"porto", "lisbon"}


def test_an_alert_fires_when_the_service_is_down_then_resolves(monitoring: Path) -> None:
    port = read_env(monitoring)["PROMETHEUS_PORT"]
    assert not firing(port, "PredictionServiceDown")
    run("docker compose stop serve", monitoring)
    try:
        eventually(lambda: firing(port, "PredictionServiceDown"), 90, "the alert firing")
    finally:
        run("docker compose up -d --wait serve", monitoring)
    eventually(lambda: not firing(port, "PredictionServiceDown"), 60, "the alert resolving")
