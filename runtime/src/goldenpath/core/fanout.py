"""Fan work out in parallel over Dask: local worker processes, or a cluster.

Embedded default: a local cluster of worker processes, one per core, nothing to
start. With DASK_SCHEDULER_ADDRESS (tcp://host:8786) the same code runs on that
cluster, whose workers run this project's environment. Dask rather than Ray:
measured here (bench/engines.py), two local workers start in about 2 s with
about 330 MiB in all, Ray's in about 30 s with about 1 GiB; and scikit-learn's
joblib runs on Dask as it is.
"""

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import dask.config
from distributed import Client, LocalCluster

SCHEDULER = "DASK_SCHEDULER_ADDRESS"
# Dask's nanny starts its workers with MALLOC_TRIM_THRESHOLD_=65536, to hand memory back
# to the system sooner; each small fit ran 2 to 4 times slower for it here (workers that
# live for one stage need no such thrift). Set it in the environment to keep it.
KEEP_MALLOC_DEFAULTS = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


@contextmanager
def dask_client(tasks: int) -> Iterator[Client]:
    """A client of the cluster DASK_SCHEDULER_ADDRESS names, else of a local one."""
    if address := os.environ.get(SCHEDULER):
        with Client(address, timeout="30s") as client:
            yield client
        return
    workers = max(1, min(tasks, os.cpu_count() or 1))
    with (
        dask.config.set(KEEP_MALLOC_DEFAULTS),
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def fan_out(function: Callable[..., Any], items: Sequence[Any], **shared: Any) -> list[Any]:
    """`function(item, **shared)` for every item, in parallel; the results in items' order.

    `shared` values are sent to each worker once, not once per item.
    """
    if not items:
        return []
    with dask_client(len(items)) as client:
        where = os.environ.get(SCHEDULER) or "a local cluster"
        print(f"{len(items)} tasks on {where} ({len(client.scheduler_info()['workers'])} workers)")
        sent = {name: client.scatter(value, broadcast=True) for name, value in shared.items()}
        return client.gather(client.map(function, items, pure=False, **sent))
