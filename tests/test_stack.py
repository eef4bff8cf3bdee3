"""The compose stack and the serving image, run for real with a Docker engine.

Skipped (with the reason) where no engine answers; mandatory in CI, where
`.ci/run` starts one with ../shared/docker/standin-images.sh first.
"""

import base64
import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import jinja2
import pytest

from .conftest import (
    TEMPLATE,
    bake,
    bake_for_the_stack,
    on_stack,
    read_env,
    run,
    set_env,
)

pytestmark = pytest.mark.slow
NAME = "stack-check"  # its own compose project, apart from anything else on the machine


def mlflow_api(project: Path, path: str, authenticated: bool = True) -> tuple[int, dict]:
    """(status, body) of an MLflow REST call, retried while a (re)started server warms up."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return _mlflow_api_once(project, path, authenticated)
        except (TimeoutError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def _mlflow_api_once(project: Path, path: str, authenticated: bool) -> tuple[int, dict]:
    env = read_env(project)
    request = urllib.request.Request(f"http://127.0.0.1:{env['MLFLOW_PORT']}/api/2.0/mlflow/{path}")
    if authenticated:
        token = f"{env['MLFLOW_TRACKING_USERNAME']}:{env['MLFLOW_TRACKING_PASSWORD']}"
        request.add_header("Authorization", f"Basic {base64.b64encode(token.encode()).decode()}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {}


def champion_version(project: Path) -> str:
    """The champion's version, after checking that its training run is still recorded."""
    status, body = mlflow_api(project, "registered-models/alias?name=stack-check&alias=champion")
    assert status == 200, status
    run_status, run_body = mlflow_api(project, f"runs/get?run_id={body['model_version']['run_id']}")
    assert run_status == 200 and "holdout_mae" in str(run_body["run"]["data"]["metrics"])
    return body["model_version"]["version"]


def predict(port: str | int, orders: list[dict]) -> list[float]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/predict",
        data=json.dumps(orders).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["delivery_minutes"]


def compose_rows(project: Path) -> list[dict]:
    output = run("docker compose ps --all --format json", project).stdout
    rows = [json.loads(line) for line in output.splitlines() if line.strip()]
    if len(rows) == 1 and isinstance(rows[0], list):  # older compose prints one JSON array
        rows = rows[0]
    return rows


def example(project: Path) -> dict:
    """The contract's example request, as the project's README sends it."""
    return json.loads(run("make -s example", project).stdout)


def compose_states(project: Path) -> dict[str, str]:
    states = {}
    for row in compose_rows(project):
        state = row.get("Health") or row["State"]
        states[row["Service"]] = f"exited {row['ExitCode']}" if state == "exited" else state
    return states


def project_label(project: Path) -> str:
    return f"label=com.docker.compose.project={read_env(project)['COMPOSE_PROJECT_NAME']}"


def stack_volumes(project: Path) -> set[str]:
    volumes = run(f"docker volume ls -q --filter {project_label(project)}", project).stdout
    return set(volumes.split())


def stack_images(project: Path) -> str:
    """The images compose built for the project (the tracking server's and the check's)."""
    return run(f"docker image ls -q --filter {project_label(project)}", project).stdout.strip()


HEALTHY = {
    "credentials-check": "exited 0",
    "postgres": "healthy",
    "mlflow": "healthy",
    "prediction-store": "exited 0",
    "serve": "healthy",
}


def test_hadolint_passes_on_every_dockerfile(tmp_path) -> None:
    project = bake(tmp_path)
    compose = TEMPLATE / "compose"
    dockerfiles = [compose / "mlflow" / "Dockerfile", compose / "evidently" / "Dockerfile"]
    dockerfiles.append(project / "Dockerfile")
    result = subprocess.run(["hadolint", *map(str, dockerfiles)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_project_carries_the_one_stack_definition(tmp_path) -> None:
    project = bake(tmp_path)
    for path in (TEMPLATE / "compose").rglob("*"):
        if path.is_file():
            copy = project / "compose" / path.relative_to(TEMPLATE / "compose")
            # Rendered as it is written: Prometheus' own {{ }} sit inside {% raw %}.
            unrendered = jinja2.Environment(keep_trailing_newline=True).from_string(
                path.read_text()
            )
            assert copy.read_text() == unrendered.render(), copy


def test_stack_is_healthy_and_ports_are_local(stack: Path) -> None:
    assert compose_states(stack) == HEALTHY
    ports = run("docker compose ps --format '{{.Ports}}'", stack).stdout
    published = re.findall(r"([\d.:\[\]]+):\d+->", ports)
    assert published and all(address == "127.0.0.1" for address in published), ports


def test_stack_says_where_it_answers_and_how_to_log_in(stack: Path) -> None:
    env, info = read_env(stack), run("make stack-info", stack).stdout
    assert f"MLflow   http://127.0.0.1:{env['MLFLOW_PORT']}  user admin," in info
    assert "password: MLFLOW_TRACKING_PASSWORD in .env" in info
    assert f"service  http://127.0.0.1:{env['SERVE_PORT']}" in info
    assert env["MLFLOW_TRACKING_PASSWORD"] not in info


def secret_values(project: Path) -> dict[str, str]:
    return {
        key: value
        for key, value in read_env(project).items()
        if key.endswith(("_PASSWORD", "_SECRET_KEY"))
    }


def test_no_secret_on_a_command_line_in_a_container_environment_or_the_config(
    stack: Path,
) -> None:
    containers = run("docker compose ps -aq", stack).stdout.split()
    seen = {
        "docker compose config": run("docker compose config", stack).stdout,
        "docker compose top": run("docker compose top", stack).stdout,
        "docker inspect": run(f"docker inspect {' '.join(containers)}", stack).stdout,
        "docker compose logs": run("docker compose logs", stack).stdout,
        "host process list": run("ps -eww -o args", stack).stdout,
    }
    # Every process's own environment too. MLflow reads its Flask secret key from the
    # environment only, so the server's processes hold that one (start.py says so).
    for service in ("postgres", "mlflow", "serve"):
        environ = "cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'"
        seen[f"{service} processes' environment"] = run(
            f'docker compose exec -T -u root {service} sh -c "{environ}"', stack
        ).stdout
    secrets = secret_values(stack)
    assert set(secrets) == {
        "POSTGRES_PASSWORD",
        "MLFLOW_TRACKING_PASSWORD",
        "MLFLOW_FLASK_SERVER_SECRET_KEY",
        "PREDICTION_LOG_PASSWORD",
        "EVIDENTLY_SECRET_KEY",
    }
    leaks = [
        f"{key} in {where}"
        for where, text in seen.items()
        for key, value in secrets.items()
        if value in text
        and (key, where) != ("MLFLOW_FLASK_SERVER_SECRET_KEY", "mlflow processes' environment")
    ]
    assert leaks == []
    assert "PATH=" in seen["postgres processes' environment"]  # the scan did read them


def test_smoke_from_the_laptop_answers_the_stacks_champion(stack: Path) -> None:
    """`make smoke-stack`: the laptop's service loads the champion from the stack's registry."""
    assert not (stack / ".mlflow").exists()  # nothing trained here but against the stack
    smoke = run("make smoke-stack", stack).stdout
    answer = json.loads(smoke.split("-> ", 1)[1].splitlines()[0])
    assert answer["model_version"] == "1"
    order = json.loads(smoke.split("POST /predict ", 1)[1].splitlines()[0])
    assert answer["delivery_minutes"] == predict(read_env(stack)["SERVE_PORT"], [order])


def test_champion_needs_credentials(stack: Path) -> None:
    assert champion_version(stack) == "1"
    status, _ = mlflow_api(stack, "registered-models/search", authenticated=False)
    assert status == 401


def test_serve_answers_as_the_champion_does_in_process(stack: Path) -> None:
    script = (
        "import json, mlflow, pandas as pd\n"
        "from stack_check.usecase import CONTRACT\n"
        "rows = pd.read_parquet('data/split/holdout.parquet', use_threads=False)"
        ".head(50)[CONTRACT.feature_names]\n"
        "model = mlflow.sklearn.load_model('models:/stack-check@champion')\n"
        "print(json.dumps({'orders': rows.to_dict(orient='records'),"
        " 'minutes': model.predict(rows).round(2).tolist()}))\n"
    )
    in_process = subprocess.run(
        ["uv", "run", "--frozen", "python", "-c", script],
        cwd=stack,
        capture_output=True,
        text=True,
        env=os.environ | on_stack(stack),
    )
    assert in_process.returncode == 0, in_process.stderr
    # The registered model records the serving requirements, pinned: no mismatch to report.
    assert "mismatches" not in in_process.stderr, in_process.stderr
    expected = json.loads(in_process.stdout.splitlines()[-1])
    assert predict(read_env(stack)["SERVE_PORT"], expected["orders"]) == expected["minutes"]


def test_images_run_as_non_root_without_compilers(stack: Path) -> None:
    for service in ("mlflow", "serve"):
        assert run(f"docker compose exec -T {service} id -u", stack).stdout.strip() == "10001"
    image = read_env(stack)["SERVE_IMAGE"]
    compilers = run(
        f"docker run --rm --entrypoint sh {image} -c 'command -v gcc cc'", stack, check=False
    )
    assert compilers.returncode != 0 and compilers.stdout.strip() == ""
    labels = json.loads(
        run(f"docker inspect --format '{{{{json .Config.Labels}}}}' {image}", stack).stdout
    )
    assert labels["dev.goldenpath.model.name"] == "stack-check"
    assert labels["dev.goldenpath.model.version"] == "1"
    assert re.fullmatch(r"[0-9a-f]{32}", labels["dev.goldenpath.model.run_id"])
    assert re.fullmatch(r"[0-9a-f]{40}", labels["org.opencontainers.image.revision"])
    assert re.fullmatch(r"[0-9a-f]{32}", labels["dev.goldenpath.data.md5"])


def test_restarting_the_database_and_server_loses_nothing(stack: Path) -> None:
    run("docker compose restart postgres mlflow && docker compose up -d --wait", stack)
    assert champion_version(stack) == "1"


def test_down_then_up_loses_nothing(stack: Path) -> None:
    run("docker compose down && docker compose up -d --wait", stack)
    assert champion_version(stack) == "1"
    assert len(predict(read_env(stack)["SERVE_PORT"], [example(stack)])) == 1


@pytest.fixture(scope="module")
def second_copy(stack: Path, tmp_path_factory) -> Path:
    """Another copy of the same project (same slug) in another folder, with its stack up
    (not trained), its admin renamed in .env before the first start."""
    project = bake_for_the_stack(tmp_path_factory.mktemp("second-copy"))
    set_env(project, MLFLOW_TRACKING_USERNAME="platform-admin")
    try:
        run("make stack-up", project)
        yield project
    finally:
        run("make stack-destroy", project, check=False)


def test_two_copies_with_one_slug_have_stacks_of_their_own(stack: Path, second_copy: Path) -> None:
    names = {read_env(copy)["COMPOSE_PROJECT_NAME"] for copy in (stack, second_copy)}
    assert len(names) == 2 and all(name.startswith("stack-check-") for name in names)
    assert stack_volumes(stack).isdisjoint(stack_volumes(second_copy))
    assert compose_states(stack) == HEALTHY
    assert compose_states(second_copy) == {
        "credentials-check": "exited 0",
        "postgres": "healthy",
        "mlflow": "healthy",
    }
    assert champion_version(stack) == "1"
    # The second copy's server: its own (empty) registry, and its admin named in .env.
    status, body = mlflow_api(second_copy, "registered-models/search")
    assert (status, body.get("registered_models", [])) == (200, [])
    assert mlflow_api(second_copy, "registered-models/search", authenticated=False)[0] == 401


def test_stack_up_stops_on_volumes_made_with_other_credentials(second_copy: Path) -> None:
    first_env = (second_copy / ".env").read_text()
    run("docker compose down", second_copy)
    set_env(second_copy, POSTGRES_PASSWORD="another-password")
    refused = run("make stack-up", second_copy, check=False)
    assert refused.returncode != 0
    assert "volumes were initialised with other credentials" in refused.stderr
    assert "volume postgres-data: POSTGRES_USER, POSTGRES_DB, POSTGRES_PASSWORD" in refused.stderr
    assert "make stack-destroy" in refused.stderr
    states = compose_states(second_copy)  # nothing left unhealthy: the servers never started
    assert states == {"credentials-check": "exited 1", "postgres": "created", "mlflow": "created"}
    (second_copy / ".env").write_text(first_env)  # the fix the message offers: the old .env
    run("make stack-up", second_copy)
    assert mlflow_api(second_copy, "registered-models/search")[0] == 200


def test_destroying_one_stack_leaves_the_other(stack: Path, second_copy: Path) -> None:
    volumes = stack_volumes(stack)
    assert volumes
    run("make stack-destroy", second_copy)
    assert stack_volumes(second_copy) == set()
    assert stack_volumes(stack) == volumes
    assert stack_images(stack) != ""
    assert run(f"docker image inspect {read_env(stack)['SERVE_IMAGE']}", stack).returncode == 0
    assert compose_states(stack) == HEALTHY
    assert champion_version(stack) == "1"
