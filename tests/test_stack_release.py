"""The release path against the real stack, then the stack's end.

Runs after test_stack.py on its stack (conftest.py): a first release pushes the
champion's image to the stack's registry:2; a retrain on data where the new model
loses changes none of the image's inputs, so nothing is pushed, and the new version is
the challenger; a retrain where it wins moves `@champion` and pushes its image; a fix
to the Dockerfile with the same champion pushes a new image of that champion, whose
/version names it. Each release says why it built or did not (ops/release.py).
"""

import json
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import RELEASE, free_port, read_env, run, set_env
from .test_stack import mlflow_api, project_label

pytestmark = pytest.mark.slow
TABLE = "orders.parquet"


MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
RELEASE_LABEL = "dev.goldenpath.release."


def registry_api(image: str, what: str, method: str = "GET"):
    """The local registry:2's answer about name[:tag]: `what` is manifests, blobs or tags."""
    host, _, rest = image.partition("/")
    name, _, tag = rest.partition(":")
    path = {"tags": f"{name}/tags/list"}.get(what, f"{name}/{what}/{tag}")
    request = urllib.request.Request(
        f"http://{host}/v2/{path}", method=method, headers={"Accept": MANIFEST}
    )
    return urllib.request.urlopen(request, timeout=10)


def registry_digest(image: str) -> str:
    """The manifest digest of name:tag in the local registry:2."""
    with registry_api(image, "manifests", method="HEAD") as response:
        return response.headers["Docker-Content-Digest"]


def registry_tags(image: str) -> set[str]:
    with registry_api(image, "tags") as response:
        return set(json.loads(response.read())["tags"])


def registry_labels(image: str) -> dict[str, str]:
    """The labels of name:tag's configuration, read from the registry itself."""
    with registry_api(image, "manifests") as response:
        config = json.loads(response.read())["config"]["digest"]
    name = image.rpartition(":")[0]
    with registry_api(f"{name}:{config}", "blobs") as response:
        return json.loads(response.read())["config"]["Labels"]


def alias(project: Path, name: str) -> str:
    status, body = mlflow_api(project, f"registered-models/alias?name=stack-check&alias={name}")
    assert status == 200, (name, status)
    return body["model_version"]["version"]


def write_table(project: Path, folder: Path, rows: int, seed: int, shift: float) -> None:
    """Synthetic orders at the URL's folder, their delivery times shifted by `shift` minutes."""
    script = (
        "import sys; from stack_check.synthetic import generate_orders;"
        f" t = generate_orders({rows}, {seed});"
        f" t['delivery_minutes'] = (t['delivery_minutes'] + {shift}).clip(1, 240);"
        f" t.to_parquet(sys.argv[1])"
    )
    run(f'uv run --frozen python -c "{script}" {folder / TABLE}', project)


def commit(project: Path, message: str) -> None:
    """What a merged pull request would bring to main."""
    run(f"make params && git add -A && git commit -qm '{message}' --no-verify", project)


def version_of_image(image: str, port: int) -> dict:
    name = f"stack-check-release-{port}"
    run(f"docker run -d --name {name} -p 127.0.0.1:{port}:8000 {image}", Path.cwd())
    try:
        deadline = time.monotonic() + 90
        while (
            run(
                f"docker inspect -f '{{{{.State.Health.Status}}}}' {name}", Path.cwd()
            ).stdout.strip()
            != "healthy"
        ):
            assert time.monotonic() < deadline, "the released image did not become healthy"
            time.sleep(1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/version", timeout=10) as response:
            return json.loads(response.read())
    finally:
        run(f"docker rm -f {name}", Path.cwd(), check=False)


def test_release_ships_the_gated_champion_and_every_fix_only(stack: Path, web_folder) -> None:
    folder, url = web_folder
    port = free_port()
    set_env(stack, REGISTRY_PORT=str(port))
    image = f"127.0.0.1:{port}/stack-check"
    release = {"GITHUB_REF_NAME": ""}  # the tags come from git, as on a laptop
    try:
        first = run("make release-on-stack", stack, **release).stdout
        assert "is the champion" in first and f"`{image}:model-1`" in first
        assert f"Built because `{image}:model-1` does not exist yet." in first
        released = registry_digest(f"{image}:model-1")
        fingerprint = {
            key.removeprefix(RELEASE_LABEL): value
            for key, value in registry_labels(f"{image}:model-1").items()
            if key.startswith(RELEASE_LABEL)
        }
        parts = {"champion", "runtime", "dependencies", "dockerfile", "code", "trust"}
        assert set(fingerprint) == parts
        assert fingerprint["champion"].startswith("stack-check/1@")
        assert fingerprint["runtime"].startswith(f"{RELEASE}@sha256:")

        # Their data from now on, behind a URL: a small table, where a new model loses.
        write_table(stack, folder, rows=600, seed=7, shift=0)
        run(f"uv run --frozen dvc import-url -q {url}/{TABLE} data/external/", stack)
        config = stack / "conf" / "data" / "default.yaml"
        config.write_text(config.read_text().replace("source: synthetic", f"source: {url}/{TABLE}"))
        run("make retrain-on-stack", stack)
        report = (stack / "build" / "retrain-report.md").read_text()
        assert (
            report.startswith("<!-- retrain-report -->") and "does not beat the champion" in report
        )
        commit(stack, "Retrain: a small table")
        # Unchanged: the same champion, runtime, dependencies, Dockerfile and code.
        tags = registry_tags(image)
        second = run("make release-on-stack", stack, **release).stdout
        assert "did not beat the champion" in second and "is unchanged" in second
        assert "Nothing was built or pushed." in second and "docker buildx build" not in second
        assert registry_digest(f"{image}:model-1") == released
        assert registry_tags(image) == tags  # not even this commit's sha-<commit> tag
        assert (alias(stack, "champion"), alias(stack, "challenger")) == ("1", "2")

        # Fresh data at the same URL, where deliveries now take longer: the new model wins.
        write_table(stack, folder, rows=5000, seed=11, shift=25)
        run("make retrain-on-stack", stack)
        report = (stack / "build" / "retrain-report.md").read_text()
        assert "would replace the champion" in report and f"`data/external/{TABLE}.dvc`" in report
        commit(stack, "Retrain: fresh data")
        # The champion changed.
        third = run("make release-on-stack", stack, **release).stdout
        assert "is the champion" in third and f"`{image}:model-3`" in third
        assert f"Built because `{image}:model-3` does not exist yet." in third
        assert alias(stack, "champion") == "3"
        assert registry_digest(f"{image}:model-1") == released
        champion_image = registry_digest(f"{image}:model-3")

        # The same champion, a fix to the service's image: it ships.
        dockerfile = stack / "Dockerfile"
        dockerfile.write_text(
            dockerfile.read_text() + 'LABEL org.opencontainers.image.vendor="Stack Check"\n'
        )
        commit(stack, "Dockerfile: a vendor label")
        commit_tag = "sha-" + run("git rev-parse --short=7 HEAD", stack).stdout.strip()
        fourth = run("make release-on-stack", stack, **release).stdout
        assert f"`{image}:model-3` was built from other inputs: the Dockerfile: sha256:" in fourth
        why = fourth.split("was built from other inputs: ", 1)[1].split("\n", 1)[0]
        assert ";" not in why  # the Dockerfile alone: the champion and the code are the same
        assert registry_digest(f"{image}:model-3") != champion_image
        assert alias(stack, "champion") == "3"
        assert commit_tag in registry_tags(image)
        labels = registry_labels(f"{image}:model-3")
        assert labels["org.opencontainers.image.vendor"] == "Stack Check"
        assert labels[f"{RELEASE_LABEL}champion"].startswith("stack-check/3@")
        assert registry_digest(f"{image}:model-1") == released

        run(f"docker rmi -f {image}:model-3", stack)  # from the registry, not the local build
        run(f"docker pull -q {image}:model-3", stack)
        served = version_of_image(f"{image}:model-3", free_port())
        assert served["model_version"] == "3" and served["model_name"] == "stack-check"
        assert served["prediction_path"] == "compiled", served["prediction_path_reason"]
    finally:
        run("docker compose --profile registry rm -sfv registry", stack, check=False)
        built = f"docker image ls --format '{{{{.Repository}}}}:{{{{.Tag}}}}' {image}"
        run(f"{built} | xargs -r docker rmi -f", stack, check=False)  # the releases' tags


def test_stack_destroy_leaves_nothing(stack: Path) -> None:
    run("make stack-destroy", stack)
    for kind in ("ps -a", "volume ls", "network ls", "image ls"):
        left = run(f"docker {kind} -q --filter {project_label(stack)}", stack).stdout
        assert left.strip() == "", kind
    serve_image = read_env(stack)["SERVE_IMAGE"]
    assert run(f"docker image inspect {serve_image}", stack, check=False).returncode != 0
