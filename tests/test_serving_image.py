"""The serving image of a default bake, from the bundled wheel, serving every bundled model.

One bake. First, on it fresh: `make stack` and `make image` lock, running setup, before
anything needs uv.lock. Then its pipeline, every other model config trained
(`dvc exp run -S model=... train`) and exported, and one image: the champion is in it,
and each other config's model is served by a container of that same image, mounted
and named by MODEL_URI (one build, not one per config).
"""

import hashlib
import shlex
import tomllib
from contextlib import ExitStack
from pathlib import Path

import pytest
import yaml

from .conftest import DVC, bake, read_env, run
from .images import Container, build_arg, example, image_version, look_into

pytestmark = pytest.mark.slow
NO_ENGINE = "unix:///nonexistent/docker.sock"
TARGET = "delivery_minutes"  # the default use case's


@pytest.fixture(scope="module")
def baked(tmp_path_factory) -> Path:
    return bake(tmp_path_factory.mktemp("image"))


def committed_lock(project: Path) -> bool:
    last = run("git log -1 --format=%s -- uv.lock", project).stdout.strip()
    return last == "Lock dependencies" and run("git status --porcelain", project).stdout == ""


def test_on_a_fresh_bake_the_stack_and_the_image_lock_first(baked: Path) -> None:
    """No `make setup` first: `make stack` runs it (uv.lock, committed), then gets as far as
    Docker (none answers at NO_ENGINE); on the fresh bake again, `make image` runs it too,
    then stops at its model (none trained yet)."""
    stack = run("make stack", baked, check=False, DOCKER_HOST=NO_ENGINE)
    output = stack.stdout + stack.stderr
    assert stack.returncode != 0 and "lockfile" not in output, output
    assert "setup: .venv ready" in output and "stack-up] Error" in output, output
    assert committed_lock(baked)
    run("git reset -q --hard HEAD~1", baked)  # the fresh bake again, without uv.lock
    assert not (baked / "uv.lock").exists()
    image = run("make image", baked, check=False)
    output = image.stdout + image.stderr
    assert image.returncode != 0 and "lockfile" not in output, output
    assert "setup: .venv ready" in output
    assert "error: no model at models/champion. Train one with `make repro`" in output, output
    assert committed_lock(baked)


def model_configs(project: Path) -> tuple[str, dict[str, str]]:
    """The default model config, and each bundled config's estimator class."""
    defaults = yaml.safe_load((project / "conf" / "config.yaml").read_text())["defaults"]
    [default] = [item["model"] for item in defaults if isinstance(item, dict) and "model" in item]
    classes = {
        path.stem: yaml.safe_load(path.read_text())["_target_"].rsplit(".", 1)[1]
        for path in sorted((project / "conf" / "model").glob("*.yaml"))
    }
    assert default in classes and len(classes) >= 4, classes
    return default, classes


def estimators(project: Path, models: list[Path]) -> list[str]:
    """The class of each model's last step (the project's environment loads them)."""
    script = (
        "import sys; from goldenpath.core import model_io\n"
        "for uri in sys.argv[1:]:\n"
        "    model = model_io.load_model(uri)\n"
        "    print(type(model.steps[-1][1] if hasattr(model, 'steps') else model).__name__)"
    )
    paths = " ".join(map(str, models))
    loaded = run(f"uv run --frozen python -c {shlex.quote(script)} {paths}", project)
    return loaded.stdout.split()[-len(models) :]


@pytest.fixture(scope="module")
def served(engine, baked: Path):
    """(project, image): trained, each other config's model in build/served/<config>."""
    run("make uv.lock", baked)  # setup, unless the fresh-bake test ran it already
    run("make repro", baked)
    default, classes = model_configs(baked)
    for config in classes.keys() - {default}:
        run(f"{DVC} exp run -q -S model={config} train", baked)
        export = "uv run --frozen python -m goldenpath.serving.export"
        run(f"{export} models/trained/model build/served/{config}", baked)
    image = read_env(baked)["SERVE_IMAGE"]
    try:
        run("make image", baked)
        yield baked, image
    finally:
        run(f"docker image rm -f {image}", baked, check=False)


def test_every_bundled_model_config_is_served_from_the_image(served) -> None:
    project, image = served
    default, classes = model_configs(project)
    models = {default: (project / "models" / "champion", "/app/model")}
    models |= {
        config: (project / "build" / "served" / config, f"/models/{config}")
        for config in classes.keys() - {default}
    }
    trained = estimators(project, [model for model, _ in models.values()])
    assert dict(zip(models, trained, strict=True)) == classes  # each trained as configured
    request = [example(project)]
    with ExitStack() as containers:  # started together: they warm up in parallel
        started = {
            config: containers.enter_context(
                Container(image, project)
                if config == default
                else Container(image, project, f"-v {model}:{uri}:ro", f"-e MODEL_URI={uri}")
            )
            for config, (model, uri) in models.items()
        }
        for config, container in started.items():
            container.wait_ready()
            status, version = container.get("/version")
            assert status == 200 and version["model_uri"] == models[config][1], version
            answer = container.predict(request)
            [minutes] = answer[TARGET]
            assert isinstance(minutes, float) and minutes > 0, (config, answer)


def test_the_image_runs_the_locked_runtime_and_holds_no_wheel_nor_secret(served, tmp_path) -> None:
    project, image = served
    [wheel] = (project / "wheels").glob("goldenpath-*.whl")
    lock = tomllib.loads((project / "uv.lock").read_text())
    [runtime] = [entry for entry in lock["package"] if entry["name"] == "goldenpath"]
    assert runtime["source"] == {"path": f"wheels/{wheel.name}"}
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert runtime["wheels"][0]["hash"] == f"sha256:{digest}"
    assert image_version(image, "goldenpath", tmp_path) == runtime["version"]
    secrets = {
        key: value
        for key, value in read_env(project).items()
        if key.endswith(("_PASSWORD", "_SECRET_KEY"))
    }
    assert len(secrets) >= 4, secrets
    leaks, paths = look_into(image, tmp_path, secrets, canary=build_arg(project, "RUN_ID"))
    assert leaks == []
    assert "app/model/MLmodel" in paths and any("site-packages/goldenpath/" in p for p in paths)
    bundled = [p for p in paths if p.startswith("app/wheels") or wheel.name in p]
    assert bundled == []
