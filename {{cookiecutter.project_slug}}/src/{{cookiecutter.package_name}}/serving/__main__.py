"""Run the service with uvicorn.

HOST, PORT, WORKERS (processes), MODEL_URI and ACCESS_LOG=1 come from the
environment; so do BATCH_MAX_ORDERS and BATCH_MAX_WAIT_MS (see app.py).
"""

import os

import uvicorn
from uvicorn.supervisors import Multiprocess


def main() -> None:
    # Parallelism comes from WORKERS processes. OpenMP threads inside each worker
    # (tree models use them) fight the workers and each other for the cores:
    # measured here, 2 workers fell from about 2,000 to 13 requests/s.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    config = uvicorn.Config(
        "{{ cookiecutter.package_name }}.serving.app:create_app",
        factory=True,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        workers=int(os.environ.get("WORKERS", "1")),
        # One log line per request costs more than a batched prediction; /metrics counts them.
        access_log=os.environ.get("ACCESS_LOG") == "1",
    )
    # The port first: a busy one is reported at once, not after the model has loaded.
    socket = config.bind_socket()
    server = uvicorn.Server(config)
    if config.workers > 1:
        Multiprocess(config, target=server.run, sockets=[socket]).run()
    else:
        server.run(sockets=[socket])


if __name__ == "__main__":
    main()
