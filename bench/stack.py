"""Figures for the local stack: cold build, warm `up --wait`, serving image size.

    uv run python bench/stack.py        (or: make bench-stack)

Needs a Docker engine (../shared/docker/standin-images.sh provides one here).
Bakes a project into a temporary directory, runs `make stack` there, measures,
and removes the stack with its volumes.
"""

import re
import tempfile

from common import bake, free_port, image_bytes, sh, timed


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
            base = sh("sed -nE 's/^FROM (python:[^ ]+) AS base$/\\1/p' Dockerfile", project).strip()
            serve_size, base_size = image_bytes(image, project), image_bytes(base, project)
        finally:
            sh("make stack-destroy", project)

    mb = 1e6
    print(f"{'figure':<40}{'value':>12}")
    print(f"{'cold build, mlflow server image':<40}{cold_mlflow:>11.1f}s")
    print(f"{'cold build, serving image':<40}{cold_serve:>11.1f}s")
    print(f"{'warm up --wait (3 services healthy)':<40}{warm_up:>11.1f}s")
    print(f"{'serving image size':<40}{serve_size / mb:>10.0f}MB")
    print(f"{'base image size (' + base + ')':<40}{base_size / mb:>10.0f}MB")
    print(f"{'serving image over base':<40}{(serve_size - base_size) / mb:>10.0f}MB")
    print(f"{'serving image / base':<40}{serve_size / base_size:>11.2f}x")


if __name__ == "__main__":
    main()
