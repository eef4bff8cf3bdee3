"""The champion served and monitored: the service's smoke result and the monitor's verdicts.

    python -m goldenpath.ops.service_check OUT.json [--orders N]   (or: make service-check)

After `make repro-ci`, on this checkout's champion (models/champion):
1. the service (`python -m goldenpath.serving`) starts on a free port of 127.0.0.1,
   logging its predictions to a temporary folder; once /ready, it is asked for the
   contract's example and a handful of the contract's samples, and for /version;
2. each of the use case's scenarios (UseCase.scenarios) is replayed against it, as
   `make simulate` does: N orders (1,500 by default, above conf/monitor/'s min_rows),
   the same ones on every checkout (a seed per week), then their outcomes;
3. the monitor (`python -m goldenpath.monitoring.monitor`) judges exactly each week's
   window; its report.html and summary.json go to OUT's folder, `<OUT's name>/<week>/`.

OUT.json records the answers, the model version, /version's content and each week's
verdict, and what they were computed from (`inputs`: the champion's files, uv.lock, conf/,
src/, the runtime's version), so that `make metrics-report` reuses it for this checkout
and runs it on the base commit. A service that does not answer is a result too: OUT.json
says why, and the command exits 1. A week whose checks fail (the changed one should) is
a finding, not a failure of the command.
"""

import argparse
import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..core.problems import report_problems
from ..core.project import use_case
from ..monitoring.store import PREDICTION

RESULT = Path("build/service-check.json")  # where `make service-check` writes it
CHAMPION = Path("models/champion")
FORMAT = 1  # of OUT.json; a result of another format is not reused
ORDERS = 1500  # per simulated week: conf/monitor/'s min_rows (500) and more
SAMPLES = 5  # of the contract's sample rows, in one request
STARTUP_S = 120  # for the service to be ready
LOGGED_S = 20  # for a week's predictions to reach the prediction log
MONITOR_S = 600  # for one week's monitor
KEYS_PER_WEEK = 10_000_000  # a week's orders keys: (its index + 1) * this + row
INPUTS = ("uv.lock", "conf", "src")  # besides the champion: what the result depends on


def check(orders: int = ORDERS, out: Path = RESULT) -> dict[str, Any]:
    """The service and the monitor on this checkout's champion (see the module's doc).

    Never raises for what it finds: a service that does not start, or a week the monitor
    could not judge, is in the result.
    """
    contract = use_case().contract
    result: dict[str, Any] = {
        "format": FORMAT,
        "inputs": inputs_digest(),
        "runtime": __version__,
        "answered": False,
        "problem": None,
        "target": contract.target.name,
        "example": {"request": dict(contract.example)},
        "samples": None,
        "model_version": None,
        "models": [],
        "version": None,
        "weeks": {},
    }
    if not (CHAMPION / "champion.json").is_file():
        result["problem"] = f"no champion in {CHAMPION}/: run `make repro-ci` first"
        return result
    with tempfile.TemporaryDirectory(prefix="service-check-") as tmp:
        log = Path(tmp) / "predictions"
        service = Service(Path(tmp) / "service.log", log)
        try:
            if problem := service.start():
                result["problem"] = problem
                return result
            ask(service, contract, result)
            windows = {
                name: replay_week(service, name, index, orders, log)
                for index, name in enumerate(sorted(use_case().scenarios))
                if result["answered"]
            }
        finally:
            service.stop()
        result["weeks"] = judge(windows, log, out.parent / out.stem)
    return result


def ask(service: "Service", contract, result: dict[str, Any]) -> None:
    """The example, SAMPLES sample rows and /version: into `result`."""
    target = contract.target.name
    status, answer = service.request("POST", "/predict", dict(contract.example))
    if status != 200:
        result["problem"] = f"POST /predict with the contract's example: {status} {answer}"
        return
    result["answered"] = True
    result["model_version"] = answer.get("model_version")
    result["example"] |= {"answer": answer[target][0], "model": answer["models"][0]}
    rows = contract.requests(contract.samples(SAMPLES, seed=0))
    status, answers = service.request("POST", "/predict", rows)
    result["samples"] = {
        "requests": rows,
        "status": status,
        "answers": answers.get(target) if status == 200 else None,
        "models": answers.get("models") if status == 200 else None,
        "detail": None if status == 200 else answers,
    }
    result["models"] = sorted({result["example"]["model"], *(result["samples"]["models"] or [])})
    status, version = service.request("GET", "/version")
    result["version"] = version if status == 200 else {"status": status, "answer": version}


def replay_week(service: "Service", name: str, index: int, orders: int, log: Path) -> dict:
    """The week's orders to the service and their outcomes to the log: its window (or,
    under "problem", why there is none)."""
    try:
        return _replay_week(service, name, index, orders, log)
    except Exception as error:  # a scenario that fails is this week's result, not a crash
        return {"orders": orders, "problem": f"the replay failed: {type(error).__name__}: {error}"}


def _replay_week(service: "Service", name: str, index: int, orders: int, log: Path) -> dict:
    from ..monitoring.outcomes import add_outcomes
    from ..monitoring.simulate import replay
    from ..monitoring.store import open_store

    contract = use_case().contract
    week = use_case().scenarios[name](orders, zlib.crc32(name.encode()))
    week[contract.key] = (index + 1) * KEYS_PER_WEEK + np.arange(len(week))
    store = open_store(contract, str(log))
    since = datetime.now(UTC)
    answered = replay(service.url, contract.requests(week, keyed=True))
    deadline = time.monotonic() + LOGGED_S
    while len(store.predictions(since, datetime.now(UTC))) < answered:
        if time.monotonic() > deadline:
            break
        time.sleep(0.3)
    until = datetime.now(UTC)
    outcomes = add_outcomes(store, week[[contract.key, contract.target.name]], f"the {name} week")
    window = (since, until)
    return {"orders": len(week), "answered": answered, "outcomes": outcomes, "window": window}


def judge(windows: dict[str, dict], log: Path, output: Path) -> dict[str, dict]:
    """The monitor on each week's window, all at once (each its own process): the verdicts."""
    env = {k: v for k, v in os.environ.items() if k != "EVIDENTLY_URL"}  # a team's UI: no
    env |= {"PREDICTION_LOG": str(log), "MODEL_URI": str(CHAMPION)}
    running, weeks = {}, {}
    for name, week in windows.items():
        if "problem" in week:
            weeks[name] = week | {"verdict": "not judged", "line": f"not judged: {week['problem']}"}
            continue
        since, until = (moment.strftime("%Y-%m-%dT%H:%M:%S.%f") for moment in week["window"])
        folder = output / name
        (folder / "summary.json").unlink(missing_ok=True)
        overrides = [f"monitor.since={since}", f"monitor.until={until}", f"monitor.output={folder}"]
        command = [sys.executable, "-m", "goldenpath.monitoring.monitor", *overrides]
        running[name] = (
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE),
            folder,
        )
    for name, (monitor, folder) in running.items():
        try:
            _, errors = monitor.communicate(timeout=MONITOR_S)
        except subprocess.TimeoutExpired:
            monitor.kill()
            _, errors = monitor.communicate()
            errors = f"the monitor did not finish within {MONITOR_S} s".encode()
        week = windows[name]
        weeks[name] = {
            "orders": week["orders"],
            "answered": week["answered"],
            "outcomes": week["outcomes"],
            "since": week["window"][0].isoformat(),
            "until": week["window"][1].isoformat(),
            "report": str(folder / "report.html"),
        } | verdict(folder / "summary.json", errors.decode(errors="replace"))
    return dict(sorted(weeks.items()))


def verdict(summary_path: Path, errors: str) -> dict[str, Any]:
    """A week's verdict from the monitor's summary.json, or why there is none."""
    if not summary_path.is_file():
        lines = [line for line in errors.splitlines() if line.strip()]
        why = lines[-1] if lines else "the monitor wrote no summary"
        return {"verdict": "not judged", "line": f"not judged: {why.removeprefix('error: ')}"}
    summary = json.loads(summary_path.read_text())
    tests = summary["tests"]
    if not summary["alarm"]:
        line = f"passed: {tests['total']} checks, nothing moved"
        return {"verdict": "passed", "line": line, "tests": tests}
    line = f"failed {tests['failed']} of {tests['total']} checks: {failures(summary['failed'])}"
    return {"verdict": "failed", "line": line, "tests": tests, "moved": summary["moved"]}


def failures(failed: list[dict[str, Any]]) -> str:
    """The monitor's failed checks in one line: what drifted, what left its range, where
    the live error rose; each with its segment, if within one."""
    kinds = {"drift": "drift of", "range": "out of range:", "error": "live error above holdout in"}
    found: dict[str, list[str]] = {kind: [] for kind in kinds}
    for check in failed:
        if check["check"] == "error":
            what = check["segment"] or "overall"
        else:
            what = "the prediction" if check["column"] == PREDICTION else check["column"]
            what += f" ({check['segment']})" if check["segment"] else ""
        if what not in found.setdefault(check["check"], []):
            found[check["check"]].append(what)
    return "; ".join(
        f"{kinds.get(kind, kind)} {', '.join(names)}" for kind, names in found.items() if names
    )


class Service:
    """`python -m goldenpath.serving` on the champion, on a free port of 127.0.0.1."""

    def __init__(self, output: Path, log: Path) -> None:
        self.output, self.log = output, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> str | None:
        """None once /ready says so; else why not."""
        from ..serving.app import LOADING

        env = {k: v for k, v in os.environ.items() if k != "SERVE_API_KEY"}
        env |= {"MODEL_URI": str(CHAMPION), "HOST": "127.0.0.1", "PORT": str(self.port)}
        env |= {"PREDICTION_LOG": str(self.log), "WORKERS": "1"}
        with self.output.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "goldenpath.serving"],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return f"the service exited during startup: {self.last_line()}"
            status, answer = self.request("GET", "/ready", timeout=2)
            if status == 200:
                return None
            if status == 503 and answer.get("reason") not in (None, LOADING):
                return f"the service is not ready: {answer['reason']}"
            time.sleep(0.3)
        return f"the service was not ready within {STARTUP_S} s: {self.last_line()}"

    def request(
        self, method: str, path: str, body: Any = None, timeout: float = 30
    ) -> tuple[int, Any]:
        """(status, JSON answer); status 0 and the error when nothing answered."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            try:
                return error.code, json.loads(text)
            except ValueError:
                return error.code, {"detail": text[:300]}
        except (OSError, http.client.HTTPException, ValueError) as error:
            return 0, {"detail": f"{type(error).__name__}: {error}"}

    def last_line(self) -> str:
        lines = [line for line in self.output.read_text(errors="replace").splitlines() if line]
        return lines[-1].removeprefix("error: ") if lines else "it printed nothing"

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def inputs_digest() -> str:
    """What a result depends on: the champion's files, uv.lock, conf/, src/, the runtime."""
    digest = hashlib.sha256(__version__.encode())
    paths = [CHAMPION, *map(Path, INPUTS)]
    files = sorted(
        file for path in paths for file in ([path] if path.is_file() else path.rglob("*"))
    )
    for file in files:
        if file.is_file() and "__pycache__" not in file.parts:
            digest.update(str(file).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def fresh(path: Path = RESULT) -> dict[str, Any] | None:
    """The result at `path` if it was made from this checkout's inputs, else None."""
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if result.get("format") != FORMAT or result.get("inputs") != inputs_digest():
        return None
    return result


def write(result: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


def lines(result: dict[str, Any]) -> list[str]:
    """The result in a few lines, for the terminal and CI logs."""
    if not result["answered"]:
        return [f"the service did not answer: {result['problem']}"]
    example = result["example"]
    shown = [
        f"the service answered the example: {example['answer']} ({example['model']}); "
        f"models that answered: {', '.join(result['models'])}"
    ]
    return shown + [f"  {name} week: {week['line']}" for name, week in result["weeks"].items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the result, as JSON (build/service-check.json)")
    parser.add_argument("--orders", type=int, default=ORDERS, help="orders per simulated week")
    args = parser.parse_args()
    if args.orders < 1:
        parser.error(f"--orders {args.orders}: give at least 1")
    if not (CHAMPION / "champion.json").is_file():
        sys.exit(f"error: no champion in {CHAMPION}/: run `make repro-ci` (or make repro) first")
    result = check(args.orders, args.out)
    write(result, args.out)
    print("\n".join(lines(result)))
    print(f"result: {args.out}")
    if not result["answered"]:
        sys.exit(1)


if __name__ == "__main__":
    report_problems(main)
