"""Run the service with uvicorn: `python -m goldenpath.serving` (or `make serve`).

The environment sets it (settings.py; MODEL_URI picks the model). The port is
bound before the model loads, so a busy one is reported at once. On SIGTERM the
service stops accepting connections, answers every request it has, then exits.
"""

import copy
import os
import sys

import uvicorn
from uvicorn.config import LOGGING_CONFIG
from uvicorn.supervisors import Multiprocess

from ..core.problems import report_problems
from .draining import DrainingHttp
from .settings import Settings

PACKAGE = __package__.split(".")[0]


def log_config() -> dict:
    """uvicorn's logging, plus this package's loggers (the served model, readiness)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"][PACKAGE] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def main() -> None:
    settings = Settings.from_env()
    # Parallelism comes from WORKERS processes. OpenMP threads inside each worker
    # (tree models use them) fight the workers and each other for the cores:
    # measured here, 2 workers fell from about 2,000 to 13 requests/s.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    config = uvicorn.Config(
        f"{__package__}.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        http=DrainingHttp,
        log_config=log_config(),
        # One log line per request costs more than a batched prediction; /metrics counts them.
        access_log=settings.access_log,
    )
    try:
        socket = config.bind_socket()  # before the model loads
    except SystemExit:  # uvicorn has logged the error itself
        sys.exit(
            f"cannot listen on {settings.host}:{settings.port}: stop what uses it, "
            "or set PORT (and HOST) to a free one"
        )
    server = uvicorn.Server(config)
    if config.workers > 1:
        Multiprocess(config, target=server.run, sockets=[socket]).run()
    else:
        server.run(sockets=[socket])


if __name__ == "__main__":
    report_problems(main)
