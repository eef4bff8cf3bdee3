"""What the benchmark scripts share: baking a project and running commands in it."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]


def bake(output_dir: str | Path, **answers: str) -> Path:
    # The project's DVC remote (under XDG_DATA_HOME) goes with the output directory.
    os.environ["XDG_DATA_HOME"] = str(Path(output_dir) / "xdg")
    return Path(
        cookiecutter(
            str(TEMPLATE), no_input=True, output_dir=str(output_dir), extra_context=answers
        )
    )


def sh(command: str, cwd: Path) -> str:
    """stdout of a shell command; on failure, exit with what it printed."""
    done = subprocess.run(command, shell=True, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"`{command}` failed in {cwd}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def timed(command: str, cwd: Path) -> float:
    start = time.perf_counter()
    sh(command, cwd)
    return time.perf_counter() - start


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def image_bytes(image: str, cwd: Path) -> int:
    return int(sh(f"docker image inspect --format '{{{{.Size}}}}' {image}", cwd))
