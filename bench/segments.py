"""Training one model per city at scale: sequential, local Dask workers, a two-worker cluster.

    uv run python bench/segments.py [--cities 5,50,200] [--rows-per-city 1000]
    (or: make bench-segments)

Bakes a project and sets it up, then, in its environment, trains the per-city
models of synthetic data with N cities (the generator's `many_cities`, the
contract's city feature widened to them: the use case is a value) three ways:
one after another in one process; through `fan_out` on a local cluster of worker
processes (the pipeline's default); through `fan_out` on a scheduler and two
workers started as separate processes on loopback (DASK_SCHEDULER_ADDRESS, as a
real cluster). Prints wall time, peak memory of all the processes involved, and
the speed-up over sequential.
"""

import argparse
import json
import tempfile

from common import bake, sh

DRIVER = """\
import dataclasses, json, os, subprocess, sys, threading, time

import psutil

from goldenpath.core.fanout import SCHEDULER, fan_out
from goldenpath.core.modeling import fit_model
from goldenpath.core.params import ModelParams
from goldenpath.core.segments import groups
from {package}.synthetic import generate_orders, many_cities
from {package}.usecase import CONTRACT

MODEL = ModelParams.model_validate(
    {{"_target_": "sklearn.ensemble.HistGradientBoostingRegressor", "max_iter": 100}}
)


class PeakMemory:
    '''The largest sum of RSS over this process and its children, sampled every 50 ms.'''

    def __enter__(self):
        self.peak, self.done = 0, threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()
        return self

    def sample(self):
        me = psutil.Process()
        while not self.done.wait(0.05):
            total = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
            self.peak = max(self.peak, total)

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()


def cluster():
    '''A scheduler and two one-thread workers, each its own process, on loopback.'''
    port = {port}
    address = f"tcp://127.0.0.1:{{port}}"
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Dask's nanny gives its workers MALLOC_TRIM_THRESHOLD_=65536 unless configured not to.
    config = os.path.abspath("dask-config")
    os.makedirs(config, exist_ok=True)
    with open(os.path.join(config, "malloc.yaml"), "w") as file:
        file.write(
            "distributed:\\n  nanny:\\n    pre-spawn-environ:\\n"
            "      MALLOC_TRIM_THRESHOLD_: null\\n"
        )
    processes = [subprocess.Popen(
        ["dask", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet
    )]
    time.sleep(3)
    for _ in range(2):
        processes.append(subprocess.Popen(
            ["dask", "worker", address, "--nthreads", "1", "--no-dashboard"], **quiet,
            env=os.environ | {{"DASK_CONFIG": config}},  # as goldenpath.core.fanout's local workers
        ))
    time.sleep(5)
    return address, processes


def main(n, rows_per_city):
    cities = many_cities(n)
    city = next(f for f in CONTRACT.features if f.name == "city")
    features = tuple(
        dataclasses.replace(f, categories=tuple(cities)) if f is city else f
        for f in CONTRACT.features
    )
    example = CONTRACT.example | {{"city": next(iter(cities))}}  # the contract checks it
    contract = dataclasses.replace(CONTRACT, features=features, example=example)
    tables = list(groups(generate_orders(n * rows_per_city, 1, cities), "city", 50).values())
    settings = {{"contract": contract, "model": MODEL, "log_target": False}}
    results = {{}}
    with PeakMemory() as memory:
        start = time.perf_counter()
        for table in tables:
            fit_model(table, **settings)
        results["sequential"] = (time.perf_counter() - start, memory.peak)
    with PeakMemory() as memory:
        start = time.perf_counter()
        fan_out(fit_model, tables, **settings)
        results["local workers"] = (time.perf_counter() - start, memory.peak)
    address, processes = cluster()
    try:
        os.environ[SCHEDULER] = address
        with PeakMemory() as memory:
            start = time.perf_counter()
            fan_out(fit_model, tables, **settings)
            results["two-worker cluster"] = (time.perf_counter() - start, memory.peak)
    finally:
        del os.environ[SCHEDULER]
        for process in processes:
            process.terminate()
    print(json.dumps({{"models": len(tables), "results": results}}))


if __name__ == "__main__":  # Dask's worker processes import this file again
    main(int(sys.argv[1]), int(sys.argv[2]))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cities", default="5,50,200")
    parser.add_argument("--rows-per-city", type=int, default=1000)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        project = bake(scratch, project_name="Segments Bench")
        sh("make setup", project)
        package = next((project / "src").iterdir()).name
        for n in map(int, args.cities.split(",")):
            script = project / "segments_driver.py"
            script.write_text(DRIVER.format(package=package, port=18786 + n))
            out = sh(f"uv run --frozen python {script} {n} {args.rows_per_city}", project)
            rows.append((n, json.loads(out.strip().splitlines()[-1])))

    print(f"{'cities':>7}{'models':>8}  {'how':<20}{'seconds':>9}{'peak MiB':>10}{'speed-up':>10}")
    for n, figures in rows:
        sequential = figures["results"]["sequential"][0]
        for how, (seconds, peak) in figures["results"].items():
            print(
                f"{n:>7}{figures['models']:>8}  {how:<20}{seconds:>9.1f}"
                f"{peak / 2**20:>10.0f}{sequential / seconds:>9.2f}x"
            )


if __name__ == "__main__":
    main()
