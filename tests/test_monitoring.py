"""The monitoring loop in a trained project, as a user runs it: serve, replay weeks, monitor.

The default project (`trained`) serves its champion with `make serve`; `make simulate`
replays a normal week and a changed one (a storm in Porto, its couriers at home) with
their outcomes, and `make monitor` judges each week alone: silence for the first, an
alarm naming Porto and the features that moved for the second. Once per week, shared.
"""

import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import free_port, restore, run

pytestmark = pytest.mark.slow


def window(simulated: str) -> str:
    """The monitor's ARGS the simulator prints for the week it replayed."""
    return re.search(r"make monitor ARGS='([^']+)'", simulated).group(1)


@pytest.fixture(scope="module")
def weeks(trained: Path):
    """{week: (make monitor's result, its summary)}, for a normal then a changed week."""
    port = free_port()
    service = subprocess.Popen(
        ["make", "serve"],
        cwd=trained,
        env=os.environ | {"PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    results = {}
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/ready", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline and service.poll() is None, "not ready"
                time.sleep(0.5)
        for week in ("normal", "changed"):
            replayed = run(f"make simulate WEEK={week} URL={url}", trained).stdout
            monitored = run(f"make monitor ARGS='{window(replayed)}'", trained, check=False)
            summary = json.loads((trained / "reports" / "monitoring" / "summary.json").read_text())
            html = (trained / "reports" / "monitoring" / "report.html").read_text()
            results[week] = (monitored, summary, html)
    finally:
        os.killpg(service.pid, signal.SIGTERM)  # a graceful stop: the log is flushed
        service.wait(timeout=30)
        restore(trained)
    return results


def test_a_normal_week_raises_no_alarm(weeks) -> None:
    monitored, summary, html = weeks["normal"]
    assert monitored.returncode == 0, monitored.stdout + monitored.stderr
    assert not summary["alarm"] and summary["failed"] == []
    assert "nothing moved" in monitored.stdout and "Nothing moved" in html
    # Every order of the week logged (none dropped) and joined to its outcome.
    assert summary["window"]["predictions"] == summary["window"]["with_outcomes"] == 10_000
    assert summary["tests"]["total"] > 50  # features, prediction, by city, ranges, errors


def test_a_changed_week_names_the_city_and_the_features_that_moved(weeks) -> None:
    monitored, summary, html = weeks["changed"]
    assert monitored.returncode != 0, monitored.stdout + monitored.stderr  # make: 2
    moved = summary["moved"]
    assert moved["segments"] == ["porto"]
    assert {"weather", "courier_load"} <= set(moved["features"])
    assert moved["prediction"] and "porto" in moved["error"]
    in_porto = {f["column"] for f in summary["failed"] if f["segment"] == "porto"}
    assert {"weather", "courier_load", "absolute_error"} <= in_porto
    assert "Moved: " in monitored.stdout and "in porto" in monitored.stdout
    assert "Something moved" in html and "courier_load [porto]" in html


def test_the_report_is_kept_for_the_evidently_ui(weeks, trained: Path) -> None:
    snapshots = list((trained / "reports" / "monitoring" / "workspace").rglob("snapshots/*.json"))
    assert len(snapshots) >= 2  # one per monitor run, in the model's project


def test_outcomes_are_checked_before_anything_is_stored(trained: Path) -> None:
    bad = trained / "late.csv"
    bad.write_text("order_id,delivery_minutes\n1,35.5\n2,-4\n")
    try:
        result = run(f"make outcomes FILE={bad}", trained, check=False)
        assert result.returncode != 0
        assert "delivery_minutes" in result.stderr and "Traceback" not in result.stderr
        assert not list((trained / "logs" / "outcomes").glob("*late*"))
        stored = list((trained / "logs" / "outcomes").glob("*.jsonl"))
        bad.write_text("order_id,delivery_minutes\n1,35.5\n2,41\n")
        assert "2 outcomes" in run(f"make outcomes FILE={bad}", trained).stdout
        assert len(list((trained / "logs" / "outcomes").glob("*.jsonl"))) == len(stored) + 1
    finally:
        bad.unlink()


def test_a_monitor_without_predictions_says_what_to_check(trained: Path) -> None:
    result = run("make monitor ARGS='monitor.since=2020-01-01 monitor.until=2020-01-02'", trained,
                 check=False)  # fmt: skip
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "0 predictions" in result.stderr and "PREDICTION_LOG" in result.stderr
