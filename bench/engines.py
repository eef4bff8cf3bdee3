"""Why Dask: start-up cost, memory and a scikit-learn fan-out, Dask distributed against Ray.

    make bench-engines   (uv run --no-project --with 'dask[distributed]' --with ray
                          --with scikit-learn --with psutil python bench/engines.py)

Each engine gets two local worker processes and fits 16 small gradient-boosting
models; the figures are the time to a usable cluster (Ray starts its workers
lazily: its first task is included), the memory of every process involved once
started, and the time for the 16 fits.
"""

import contextlib
import time

import numpy as np
import psutil


def fit(seed: int) -> float:
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng(seed)
    features = rng.random((4000, 8))
    target = features @ rng.random(8) + rng.normal(0, 0.1, 4000)
    return HistGradientBoostingRegressor(max_iter=100).fit(features, target).score(features, target)


def memory() -> int:
    me = psutil.Process()
    total = 0
    for process in [me, *me.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += process.memory_info().rss
    return total


def with_dask() -> tuple[float, int, float]:
    from distributed import Client, LocalCluster

    start = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
    client = Client(cluster)
    started = time.perf_counter() - start
    time.sleep(1)
    rss = memory()
    start = time.perf_counter()
    client.gather(client.map(fit, range(16)))
    work = time.perf_counter() - start
    client.close()
    cluster.close()
    return started, rss, work


def with_ray() -> tuple[float, int, float]:
    import ray

    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    remote = ray.remote(fit)
    ray.get(remote.remote(0))
    started = time.perf_counter() - start
    time.sleep(1)
    rss = memory()
    start = time.perf_counter()
    ray.get([remote.remote(seed) for seed in range(16)])
    work = time.perf_counter() - start
    ray.shutdown()
    return started, rss, work


def main() -> None:
    start = time.perf_counter()
    for seed in range(16):
        fit(seed)
    sequential = time.perf_counter() - start
    print(f"{'engine':<12}{'start s':>9}{'MiB, all processes':>20}{'16 fits s':>11}")
    print(f"{'none':<12}{'-':>9}{memory() / 2**20:>20.0f}{sequential:>11.1f}")
    for name, measure in (("dask", with_dask), ("ray", with_ray)):
        started, rss, work = measure()
        print(f"{name:<12}{started:>9.1f}{rss / 2**20:>20.0f}{work:>11.1f}")


if __name__ == "__main__":
    main()
