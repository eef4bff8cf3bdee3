"""Serving throughput side by side: the project's service against `mlflow models serve`.

    uv run python bench/serving.py [--seconds 5] [--connections 1,8,32,64]
    (or: make bench-serving)

Bakes a project and trains it (timing scaffold -> registered champion and a
no-op `dvc repro`), then serves the same champion with `mlflow models serve`,
with LitServe, with the project's app in-process and in its container, and with two
hello-world endpoints, plain ASGI and FastAPI's fastest (an async endpoint):
the ceilings of one uvicorn worker. wrk drives each in turn over loopback
with the same request, one server worker each, bounded in time; the script
prints requests/s, p50/p99 and errors, the ratios, and draws
bench/results/serving.png. Then a random-forest model (`dvc exp run -S
model=random_forest`), served by the project's app: which predict path and
model-call placement it gets, and its throughput. The late-delivery classifier
(`example=late_delivery`), baked and trained beside it, served the same way: its
answer carries each class's probability. One model per city (issue 13):
the service with the 5 cities' own models next to the global one, and a 50-city
use case with and without its cities' models; the project's contenders get orders
of every city in turn. Last, the serving image's size against the image
`mlflow models generate-dockerfile` gives for the same model, both on the same
python slim base.

Needs wrk (apt-get install wrk); the container figures need a Docker engine.
"""

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from common import TEMPLATE, bake, free_port, image_bytes, sh, timed

RESULTS = Path(__file__).resolve().parent / "results"
CITY_NAMES = ["lisbon", "porto", "madrid", "barcelona", "milan"]  # the example use case's
PER_CITY_5, GLOBAL_50, PER_CITY_50 = (
    "per city: 5 models + global",
    "global model, 50-city use case",
    "per city: 50 models + global",
)
OURS, CLASSIFIER = "project app (in-process)", "project app, late-delivery classifier"
WIDE_CITIES = "import json, cities_app; print(json.dumps(list(cities_app.CITIES)))"
STANDINS = TEMPLATE.parent / "shared" / "docker" / "standin-images.sh"
HELLO_ASGI = """\
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"hello": "world"}'})
"""
HELLO_FASTAPI = """\
from fastapi import FastAPI

app = FastAPI()


@app.api_route("/", methods=["GET", "POST"])
async def hello() -> dict[str, str]:
    return {"hello": "world"}
"""
# LitServe, the maintained library with dynamic batching, given the same model and
# the project's own validation and lean predict: only the serving machinery differs.
LITSERVE = "litserve==0.2.19"
LITSERVE_APP = """\
import sys

import litserve as ls

from goldenpath.serving.model import load_served_model
from goldenpath.serving.predictor import lean_predictor
from {package}.usecase import CONTRACT


class DeliveryTime(ls.LitAPI):
    def setup(self, device):
        model = load_served_model("models:/{model}@champion", CONTRACT)
        self.predict_rows = lean_predictor(model.predictor, CONTRACT).predict

    def decode_request(self, request):
        return CONTRACT.request_model.model_validate(request).model_dump()

    def predict(self, rows):
        return self.predict_rows(rows).round(2).tolist()

    def encode_response(self, minutes):
        return {{"delivery_minutes": [minutes]}}


if __name__ == "__main__":
    api = DeliveryTime(max_batch_size=32, batch_timeout=0.002)
    server = ls.LitServer(api, accelerator="cpu", workers_per_device=1)
    port = int(sys.argv[1])
    server.run(host="127.0.0.1", port=port, log_level="warning", generate_client_file=False)
"""
# One model per city (issue 13): the sets of models the service loads, built in the
# project's environment: 5 cities (the project's train split) and 50 (synthetic cities
# with dynamics of their own, the contract's city feature widened to them). Each set
# holds the global model alone, and the global model with every city's own serving.
CITIES_APP = """\
import dataclasses
import os
import shutil
import sys
from pathlib import Path

import pandas as pd
import yaml

from goldenpath.core import model_io
from goldenpath.core.champion import ChampionRecord
from goldenpath.core.modeling import fit_model
from goldenpath.core.params import ModelParams
from goldenpath.core.segments import groups, key
from goldenpath.serving.app import create_app
from {package}.synthetic import generate_orders, many_cities
from {package}.usecase import CONTRACT, USE_CASE

CITIES = many_cities(50)
WIDE = dataclasses.replace(
    CONTRACT,
    features=tuple(
        dataclasses.replace(f, categories=tuple(CITIES)) if f.name == "city" else f
        for f in CONTRACT.features
    ),
    example=CONTRACT.example | {{"city": next(iter(CITIES))}},
)


def app():  # uvicorn --factory: the service of the 50-city use case
    return create_app(os.environ["MODEL_URI"], dataclasses.replace(USE_CASE, contract=WIDE))


def save(model, folder, rows, contract, name, segment=None):
    trusted = model_io.trusted_types(model, "sklearn")
    model_io.save_model(model, folder, trusted, {{}}, rows[contract.feature_names])
    record = ChampionRecord.of(str(folder), name, "1", "bench", None)
    dataclasses.replace(record, segment=segment).write(folder)


def build(out, contract, table, model):
    save(fit_model(table, contract, model, False), out / "global", table, contract, USE_CASE.name)
    shutil.copytree(out / "global", out / "cities")
    for value, rows in groups(table, "city", 50).items():
        folder = out / "cities" / "segments" / key(value)
        name = f"{{USE_CASE.name}}-{{key(value)}}"
        save(fit_model(rows, contract, model, False), folder, rows, contract, name, value)


if __name__ == "__main__":
    model = ModelParams.model_validate(
        yaml.safe_load(Path("conf/model/hist_gradient_boosting.yaml").read_text())
    )
    out = Path(sys.argv[1])
    build(out / "5", CONTRACT, pd.read_parquet("data/split/train.parquet"), model)
    build(out / "50", WIDE, generate_orders(50 * 400, 1, CITIES), model)
"""
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass
class Load:
    connections: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


def wait_for(url: str, process: subprocess.Popen | None, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            sys.exit(f"the server for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:  # not listening yet, or not ready (503)
            time.sleep(0.5)
    sys.exit(f"{url} did not answer within {seconds:.0f} s")


def wrk(url: str, body: dict | list[dict], connections: int, seconds: int, scratch: Path) -> Load:
    """wrk POSTing `body`, or each of a list of bodies in turn (orders of every city)."""
    bodies = body if isinstance(body, list) else [body]
    script = scratch / "post.lua"
    script.write_text(
        "bodies = {" + ", ".join(json.dumps(json.dumps(b)) for b in bodies) + "}\n"
        "i = 0\n"
        "request = function()\n"
        "  i = i % #bodies + 1\n"
        '  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, bodies[i])\n'
        "end\n"
    )
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout

    def latency(percent: str) -> float:
        value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * UNITS[unit]

    socket_errors = re.search(r"Socket errors: (.*)", out)
    errors = sum(map(int, re.findall(r"\d+", socket_errors.group(1)))) if socket_errors else 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non_2xx.group(1)) if non_2xx else 0
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return Load(connections, rate, latency("50"), latency("99"), errors)


@dataclass
class Contender:
    name: str
    start: str  # a shell command; the server runs until stopped
    ready: str  # a path that answers 200 once the model is loaded
    predict: str  # the path to POST to
    body: dict | list[dict]
    cwd: Path
    container: bool = False


def stop_session(server: subprocess.Popen) -> None:
    """SIGTERM to the server's session, SIGKILL to what is left after 30 s: the service
    itself (draining, writing its log) outlives the shell that started it."""
    session = str(server.pid)
    subprocess.run(["pkill", "-TERM", "-s", session])
    server.wait(timeout=30)
    if not session_ended(session, within_s=30):
        subprocess.run(["pkill", "-KILL", "-s", session])
        session_ended(session, within_s=10)


def session_ended(session: str, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while subprocess.run(["pgrep", "-s", session], capture_output=True).stdout:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def measure(
    contender: Contender, levels: list[int], seconds: int, scratch: Path, probe=None
) -> list[Load]:
    """wrk at each level; `probe(base_url)`, if given, is called before the server stops."""
    port = free_port()
    command = contender.start.format(port=port)
    base = f"http://127.0.0.1:{port}"
    server = None
    if contender.container:
        container = sh(command, contender.cwd).strip()
    else:
        server = subprocess.Popen(
            command, shell=True, cwd=contender.cwd, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        wait_for(base + contender.ready, server)
        url = base + contender.predict
        wrk(url, contender.body, 8, 2, scratch)  # warm-up
        loads = [wrk(url, contender.body, level, seconds, scratch) for level in levels]
        if probe is not None:
            probe(base)
    finally:
        if contender.container:
            sh(f"docker rm -f {container}", contender.cwd)
        else:
            stop_session(server)
    for load in loads:
        print(
            f"{contender.name:<34}{load.connections:>6}{load.requests_per_s:>11.0f}"
            f"{load.p50_ms:>9.1f}{load.p99_ms:>9.1f}{load.errors:>8}",
            flush=True,
        )
    return loads


def docker_answers() -> bool:
    return (
        shutil.which("docker") is not None
        and subprocess.run(["docker", "info"], capture_output=True).returncode == 0
    )


def image_size_mb(image: str, cwd: Path) -> float:
    return image_bytes(image, cwd) / 1e6


def mlflow_image(project: Path, scratch: Path, uri: str, tracking: str) -> str:
    """The image `mlflow models generate-dockerfile` gives for the champion."""
    out = scratch / "mlflow-image"
    sh(f"{tracking} uv run --frozen mlflow models generate-dockerfile -m {uri} -d {out} "
       "--env-manager local", project)  # fmt: skip
    if STANDINS.is_file():  # this machine pulls no base images: build local stand-ins
        sh(f"bash {STANDINS} {out}", project)
    sh(f"docker build -q -t goldenpath-bench/mlflow-generated {out}", project)
    return "goldenpath-bench/mlflow-generated"


def chart(results: dict[str, list[Load]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (throughput, tail) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, loads in results.items():
        levels = [load.connections for load in loads]
        throughput.plot(levels, [load.requests_per_s for load in loads], marker="o", label=name)
        tail.plot(levels, [load.p99_ms for load in loads], marker="o", label=name)
    throughput.set(xscale="log", yscale="log", xlabel="connections", ylabel="requests/s")
    tail.set(xscale="log", yscale="log", xlabel="connections", ylabel="p99 latency (ms)")
    for axis in (throughput, tail):
        axis.set_xticks(levels, [str(level) for level in levels])
        axis.grid(alpha=0.3)
    throughput.legend(fontsize=8)
    figure.suptitle("One server worker each, wrk on loopback, same model and request")
    figure.tight_layout()
    path.parent.mkdir(exist_ok=True)
    figure.savefig(path, dpi=110)


def prediction_log_overhead(
    project: Path, order: dict, seconds: int, scratch: Path
) -> tuple[float, float]:
    """(on, off): the project's app at 32 connections, its prediction log on (a folder,
    PREDICTION_LOG) and off, alternated three times; medians of requests/s."""
    runs: dict[str, list[float]] = {"on": [], "off": []}
    for _ in range(3):
        for mode, where in (("off", "off"), ("on", scratch / "prediction-log")):
            contender = Contender(f"project app, prediction log {mode}", f"PREDICTION_LOG={where} "
                                  f"PORT={{port}} WORKERS=1 uv run --frozen python -m goldenpath"
                                  ".serving", "/ready", "/predict", order, project)  # fmt: skip
            [load] = measure(contender, [32], seconds, scratch)
            runs[mode].append(load.requests_per_s)
    on, off = (statistics.median(runs[mode]) for mode in ("on", "off"))
    print(f"prediction log on: {on:.0f} req/s, off: {off:.0f} req/s at 32 connections "
          f"(medians of 3): logging costs {1 - on / off:.1%} of throughput")  # fmt: skip
    print(f"{'PASS' if on >= 0.9 * off else 'FAIL'}  the prediction log costs <= 10% of throughput")
    return on, off


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5, help="per load level (default 5)")
    parser.add_argument("--connections", default="1,8,32,64", help="load levels (1,8,32,64)")
    args = parser.parse_args()
    levels = [int(level) for level in args.connections.split(",")]
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk")
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        scratch = Path(tmp)
        start = time.perf_counter()
        project = bake(tmp)
        sh("make setup repro", project)
        champion_s = time.perf_counter() - start
        classifier = bake(scratch / "classifier", example="late_delivery")
        sh("make setup repro", classifier)
        noop_s = min(timed("uv run --frozen dvc repro", project) for _ in range(3))
        package = project.name.replace("-", "_")
        order = json.loads(sh("make -s example", project))  # the contract's example order
        uri = "models:/eta-predictor@champion"
        tracking = f"MLFLOW_TRACKING_URI=sqlite:///{project}/.mlflow/mlflow.db"
        cities5 = [order | {"city": city} for city in CITY_NAMES]
        late = json.loads(sh("make -s example", classifier))  # the classifier's own orders
        late5 = [late | {"city": city} for city in CITY_NAMES] if "city" in late else late
        (scratch / "cities_app.py").write_text(CITIES_APP.format(package=package))
        sh(f"uv run --frozen python {scratch / 'cities_app.py'} {scratch / 'sets'}", project)
        wide = json.loads(sh(f"{project}/.venv/bin/python -c '{WIDE_CITIES}'", scratch))
        cities50 = [order | {"city": city} for city in wide]
        (scratch / "hello_asgi.py").write_text(HELLO_ASGI)
        (scratch / "hello_fastapi.py").write_text(HELLO_FASTAPI)
        litserve_app = scratch / "litserve_app.py"
        litserve_app.write_text(LITSERVE_APP.format(package=package, model="eta-predictor"))
        uvicorn = f"{project}/.venv/bin/python -m uvicorn --no-access-log --port {{port}}"
        contenders = [
            Contender("hello world (plain ASGI)", f"{uvicorn} hello_asgi:app", "/", "/", order,
                      scratch),
            Contender("hello world (FastAPI)", f"{uvicorn} hello_fastapi:app", "/", "/", order,
                      scratch),
            Contender("mlflow models serve", f"{tracking} uv run --frozen mlflow models serve "
                      f"-m {uri} --env-manager local -h 127.0.0.1 -p {{port}} -w 1", "/ping",
                      "/invocations", {"dataframe_records": [order]}, project),
            Contender("LitServe (same model, batching)", f"uv run --frozen --with {LITSERVE} "
                      f"python {litserve_app} {{port}}", "/health", "/predict", order, project),
            Contender(OURS, "PORT={port} WORKERS=1 uv run --frozen python -m "
                      "goldenpath.serving", "/ready", "/predict", cities5, project),
            Contender(CLASSIFIER, "PORT={port} WORKERS=1 uv run --frozen python -m "
                      "goldenpath.serving", "/ready", "/predict", late5, classifier),
            Contender(PER_CITY_5, f"PORT={{port}} WORKERS=1 MODEL_URI={scratch}/sets/5/cities "
                      "uv run --frozen python -m goldenpath.serving", "/ready", "/predict",
                      cities5, project),
            Contender(GLOBAL_50, f"MODEL_URI={scratch}/sets/50/global {uvicorn} --factory "
                      "cities_app:app", "/ready", "/predict", cities50, scratch),
            Contender(PER_CITY_50, f"MODEL_URI={scratch}/sets/50/cities {uvicorn} --factory "
                      "cities_app:app", "/ready", "/predict", cities50, scratch),
        ]  # fmt: skip
        has_docker = docker_answers()
        if has_docker:
            if STANDINS.is_file():  # this machine pulls no base images: local stand-ins
                sh(f"bash {STANDINS} {project}", project)
            sh("make image", project)
            image = re.search(r"^SERVE_IMAGE=(.*)$", (project / ".env").read_text(), re.M)[1]
            contenders.append(
                Contender("project app (container)", f"docker run -d -p 127.0.0.1:{{port}}:8000 "
                          f"{image}", "/ready", "/predict", order, project, container=True)
            )  # fmt: skip
        print(f"{'server':<34}{'conns':>6}{'req/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
        results = {c.name: measure(c, levels, args.seconds, scratch) for c in contenders}
        prediction_log_overhead(project, order, args.seconds, scratch)
        sizes = {}
        if has_docker:
            python = json.loads((TEMPLATE / "cookiecutter.json").read_text())["python_version"]
            base = f"python:{python}-slim"
            sizes = {
                "serving image": image_size_mb(image, project),
                "mlflow generate-dockerfile image": image_size_mb(
                    mlflow_image(project, scratch, uri, tracking), project
                ),
                f"base ({base})": image_size_mb(base, project),
            }
        forest = random_forest(project, order, args.seconds, scratch)
    chart(results, RESULTS / "serving.png")
    report(results, sizes, champion_s, noop_s, levels, forest)


def random_forest(project: Path, order: dict, seconds: int, scratch: Path):
    """conf/'s random forest (n_jobs: -1), trained by `dvc exp run`, served: how, how fast."""
    sh("uv run --frozen dvc exp run -S model=random_forest", project)
    served = {}

    def how_served(base: str) -> None:
        with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
            metrics = response.read().decode()
        labels = re.search(r"^serving_info\{(.*)\}", metrics, re.M)[1]
        served.update(re.findall(r'(\w+)="([^"]*)"', labels))

    contender = Contender("project app, random forest", "PORT={port} WORKERS=1 MODEL_URI="
                          "models/trained/model uv run --frozen python -m goldenpath.serving",
                          "/ready", "/predict", order, project)  # fmt: skip
    [load] = measure(contender, [32], seconds, scratch, probe=how_served)
    return load, served


def report(results, sizes, champion_s: float, noop_s: float, levels: list[int], forest) -> None:
    def at(name: str, connections: int) -> Load:
        return next(load for load in results[name] if load.connections == connections)

    ours, mlflow = OURS, "mlflow models serve"
    print(f"\n{'connections':<12}" + "".join(f"{level:>10}" for level in levels))
    for name in results:
        if name != mlflow:
            ratios = [at(name, c).requests_per_s / at(mlflow, c).requests_per_s for c in levels]
            print(f"{name[:30]:<30} / mlflow " + "".join(f"{r:>9.1f}x" for r in ratios))
    for hello in ("hello world (plain ASGI)", "hello world (FastAPI)"):
        ratios = [at(ours, c).requests_per_s / at(hello, c).requests_per_s for c in levels]
        print(f"ours / {hello:<31}" + "".join(f"{r:>9.0%} " for r in ratios))
    for name, megabytes in sizes.items():
        print(f"{name:<40}{megabytes:>8.0f} MB")
    if sizes:
        serving, generated, base = sizes.values()
        print(f"serving image / mlflow's: {serving / generated:.2f}; over the base: "
              f"{serving - base:.0f} MB ({serving / base:.2f}x)")  # fmt: skip
    print(f"scaffold to registered champion: {champion_s:.1f} s; no-op dvc repro: {noop_s:.1f} s")
    forest_load, forest_served = forest
    print(
        f"random forest served: {forest_served.get('predict')} predict, model calls on the "
        f"{forest_served.get('model_calls')}; at 32 connections {forest_load.requests_per_s:.0f} "
        f"req/s, p99 {forest_load.p99_ms:.1f} ms, {forest_load.errors} errors"
    )
    fast = forest_served["predict"] in ("lean", "compiled")
    checks = {"random forest on the fast path (lean or compiled predict)": fast}
    if 32 in levels:
        load = at(ours, 32)
        hello = at("hello world (FastAPI)", 32).requests_per_s
        checks |= {
            ">= 50x mlflow models serve at 32": load.requests_per_s
            >= 50 * at(mlflow, 32).requests_per_s,
            ">= 40% of hello world (FastAPI) at 32": load.requests_per_s >= 0.4 * hello,
            ">= 60% of hello world (FastAPI) at 32, the global model": load.requests_per_s
            >= 0.6 * hello,
            "5 cities' models >= 80% of the global model at 32": at(PER_CITY_5, 32).requests_per_s
            >= 0.8 * load.requests_per_s,
            "50 cities' models >= 60% of the global model at 32": at(PER_CITY_50, 32).requests_per_s
            >= 0.6 * at(GLOBAL_50, 32).requests_per_s,
        }
        for name in (ours, CLASSIFIER, PER_CITY_5, GLOBAL_50, PER_CITY_50):
            checks[f"p99 <= 50 ms at 32: {name}"] = at(name, 32).p99_ms <= 50
            checks[f"no errors at 32: {name}"] = at(name, 32).errors == 0
        classified = at(CLASSIFIER, 32).requests_per_s / load.requests_per_s
        checks["the classifier >= 80% of the regressor at 32"] = classified >= 0.8
        print(f"the late-delivery classifier at 32: {classified:.0%} of the regressor")
        five = at(PER_CITY_5, 32).requests_per_s / load.requests_per_s
        fifty = at(PER_CITY_50, 32).requests_per_s / at(GLOBAL_50, 32).requests_per_s
        print(
            f"per city at 32: 5 models {five:.0%} of the global model; 50 models {fifty:.0%} of "
            "the 50-city use case's global model"
        )
    if sizes:
        serving, generated, _ = sizes.values()
        checks["serving image <= 0.4x mlflow's"] = serving <= 0.4 * generated
    for check, passed in checks.items():
        print(f"{'PASS' if passed else 'FAIL'}  {check}")
    print(f"chart: {RESULTS / 'serving.png'}")


if __name__ == "__main__":
    main()
