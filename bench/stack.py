"""Figures for the local stack: cold builds, warm `up --wait`, idle memory, image size.

    uv run python bench/stack.py        (or: make bench-stack)

Needs a Docker engine (../shared/docker/standin-images.sh provides one here).
Bakes a project into a temporary directory, runs `make stack` there, measures,
and removes the stack with its volumes. Idle memory is what `docker stats` reports
for each container once the stack has been up and unused for IDLE_SECONDS, next to
the target for the whole stack and to the tracking server with MLflow's job workers
on (MLflow's own default, off in the stack).
"""

import json
import re
import tempfile
import time
from pathlib import Path

from common import bake, free_port, image_bytes, sh, timed

IDLE_SECONDS = 30
TARGET_MIB = 1024
UNITS = {"B": 1 / 2**20, "KiB": 1 / 2**10, "MiB": 1, "GiB": 2**10}


def idle_memory(project: Path) -> dict[str, float]:
    """MiB in use by each running service, after IDLE_SECONDS without requests."""
    time.sleep(IDLE_SECONDS)
    output = sh("docker compose ps --format json", project)  # running services only
    rows = [json.loads(line) for line in output.splitlines() if line.strip()]
    services = {row["Name"]: row["Service"] for row in rows}
    stats = sh(
        f"docker stats --no-stream --format '{{{{.Name}}}} {{{{.MemUsage}}}}' {' '.join(services)}",
        project,
    )
    memory = {}
    for line in stats.splitlines():
        name, used = line.split()[:2]
        number, unit = re.fullmatch(r"([\d.]+)(\w+)", used).groups()
        memory[services[name]] = float(number) * UNITS[unit]
    return memory


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        project = bake(scratch, project_name="Stack Bench")
        env = (project / ".env").read_text()
        for key in ("MLFLOW_PORT", "SERVE_PORT"):
            env = re.sub(rf"^{key}=.*$", f"{key}={free_port()}", env, flags=re.M)
        (project / ".env").write_text(env)
        image = re.search(r"^SERVE_IMAGE=(.*)$", env, re.M).group(1)
        try:
            sh("make setup", project)
            sh("make stack", project)  # trains and exports the champion that the image holds
            cold_mlflow = timed("docker compose build --no-cache mlflow", project)
            cold_serve = timed(
                f"docker build --no-cache $(sed 's/^/--build-arg /' build/build-args) -t {image} .",
                project,
            )
            sh("docker compose down", project)
            warm_up = timed("docker compose up -d --wait", project)
            idle = idle_memory(project)
            jobs_on = "MLFLOW_SERVER_ENABLE_JOB_EXECUTION=true"
            sh(f"{jobs_on} docker compose up -d --wait mlflow", project)
            with_job_workers = idle_memory(project)["mlflow"]
            base = sh("sed -nE 's/^FROM (python:[^ ]+) AS base$/\\1/p' Dockerfile", project).strip()
            serve_size, base_size = image_bytes(image, project), image_bytes(base, project)
        finally:
            sh("make stack-destroy", project)

    mb, total = 1e6, sum(idle.values())
    rows = [
        ("cold build, mlflow server image", f"{cold_mlflow:.1f} s"),
        ("cold build, serving image", f"{cold_serve:.1f} s"),
        ("warm up --wait (3 services healthy)", f"{warm_up:.1f} s"),
        *((f"idle memory, {service}", f"{mib:.0f} MiB") for service, mib in idle.items()),
        ("idle memory, whole stack", f"{total:.0f} MiB"),
        (f"  / target ({TARGET_MIB} MiB)", f"{total / TARGET_MIB:.2f}x"),
        ("idle memory, mlflow with its job workers on", f"{with_job_workers:.0f} MiB"),
        ("  / mlflow as the stack runs it", f"{with_job_workers / idle['mlflow']:.2f}x"),
        ("serving image size", f"{serve_size / mb:.0f} MB"),
        (f"base image size ({base})", f"{base_size / mb:.0f} MB"),
        ("serving image over base", f"{(serve_size - base_size) / mb:.0f} MB"),
        ("serving image / base", f"{serve_size / base_size:.2f}x"),
    ]
    print(f"{'figure':<46}{'value':>12}")
    for figure, value in rows:
        print(f"{figure:<46}{value:>12}")


if __name__ == "__main__":
    main()
