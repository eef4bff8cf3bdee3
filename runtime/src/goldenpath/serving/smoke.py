"""Start the service, ask it for one prediction, stop it: proof the champion answers."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from ..core.project import use_case
from .app import LOADING

STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_ready(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("the service exited during startup; see its log above")
        try:
            with urllib.request.urlopen(f"{base}/ready", timeout=1):
                return
        except urllib.error.HTTPError as error:  # 503: up, and it says why it is not ready
            reason = json.loads(error.read())["reason"]
            if reason != LOADING:
                sys.exit(f"the service is not ready: {reason}")
            time.sleep(0.3)
        except OSError:
            time.sleep(0.3)
    sys.exit(f"the service was not ready within {STARTUP_SECONDS} s")


def main() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = os.environ | {"PORT": str(port)}
    server = subprocess.Popen([sys.executable, "-m", __package__], env=env)
    try:
        wait_until_ready(base, server)
        example = json.dumps(use_case().contract.example)
        request = urllib.request.Request(
            f"{base}/predict", data=example.encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            print(f"POST /predict {example}\n-> {response.read().decode()}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
