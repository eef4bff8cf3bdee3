"""A model library a team configures in conf/model/ trains, registers and serves, as is.

One bake: XGBoost added the way the project's README says (`xgboost-cpu`, no CUDA), a
config in conf/model/, the CI experiment on the sample data. No MODEL_TRUSTED_TYPES
anywhere: what loads a model trusts what conf/ configures, and the serving image, which
has no conf/, the trust list `make image` wrote from it, never a model folder's claim.
"""

import json
import os
import shlex
import shutil
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from .conftest import DVC, bake, free_port, run

pytestmark = pytest.mark.slow

XGBOOST = """\
# XGBoost's gradient boosting: xgboost-cpu, the same library without CUDA (README).
_target_: xgboost.XGBRegressor
n_estimators: 200
learning_rate: 0.1
max_depth: 6
random_state: 0
"""
# What the project's README says to add (macOS's own xgboost wheel has no CUDA).
XGBOOST_CPU = ("xgboost-cpu>=3; sys_platform != 'darwin'", "xgboost>=3; sys_platform == 'darwin'")
XGBOOST_TYPES = ["xgboost.core.Booster", "xgboost.sklearn.XGBRegressor"]
LEAN = "lean, xgboost.sklearn.XGBRegressor's own predict on the encoded rows"


@pytest.fixture(scope="module")
def xgboost_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bake whose experiment trained, evaluated and registered an XGBoost model."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MODEL_TRUSTED_TYPES", raising=False)
        patch.delenv("MODEL_TRUST_FILE", raising=False)
        project = bake(tmp_path_factory.mktemp("xgboost"))
        run("make setup", project)
        (project / "conf" / "model" / "xgboost.yaml").write_text(XGBOOST)
        run(f"uv add --quiet {shlex.join(XGBOOST_CPU)}", project)
        run(f"{DVC} exp run -S experiment=ci -S model=xgboost", project)
        yield project


def test_a_configured_library_trains_registers_and_serves(xgboost_project: Path) -> None:
    assert "MODEL_TRUSTED_TYPES" not in os.environ
    decision = json.loads((xgboost_project / "reports" / "registration.json").read_text())
    assert decision["promoted"] and decision["candidate"]["version"] == "1"
    assert json.loads((xgboost_project / "metrics.json").read_text())["holdout"]["mae"] > 0
    mlmodel = yaml.safe_load((xgboost_project / "models" / "champion" / "MLmodel").read_text())
    assert mlmodel["flavors"]["sklearn"]["skops_trusted_types"] == XGBOOST_TYPES
    smoke = run("make smoke", xgboost_project)
    assert '"model_version":"1"' in smoke.stdout
    assert f"prediction path of eta-predictor/1: {LEAN}" in smoke.stdout + smoke.stderr


def test_xgboost_cpu_brings_no_gpu_library_into_the_serving_image(xgboost_project) -> None:
    export = "uv export --frozen --no-default-groups --no-hashes --no-annotate --no-header"
    serving = run(export, xgboost_project).stdout.splitlines()
    xgboost = {line.split("==")[0]: line for line in serving if line.startswith("xgboost")}
    assert sorted(xgboost) == ["xgboost", "xgboost-cpu"]
    assert xgboost["xgboost"].endswith("sys_platform == 'darwin'")  # macOS's: no CUDA in it
    assert not [line for line in serving if line.startswith("nvidia")]


def load_from(cwd: Path, project: Path, model: Path, **env: str):
    """load_model(model) in the project's environment, from `cwd`."""
    script = f"from goldenpath.core.model_io import load_model; load_model({str(model)!r})"
    command = f"uv run --frozen --project {project} python -c {shlex.quote(script)}"
    return run(command, cwd, check=False, **env)


def test_a_model_folder_cannot_widen_what_is_trusted(xgboost_project: Path, tmp_path) -> None:
    """Outside the project's root (no conf/) the model loads only with the trust list the
    export wrote from conf/, never with one in the model's own folder."""
    run("uv run --frozen python -m goldenpath.serving.export", xgboost_project)
    written = xgboost_project / "build" / "trusted-types.json"
    assert json.loads(written.read_text())["trusted_types"] == ["lightgbm.", "xgboost."]
    model = tmp_path / "model"
    shutil.copytree(xgboost_project / "models" / "champion", model)
    (model / "trusted-types.json").write_text(written.read_text())  # the model's claim
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    refused = load_from(elsewhere, xgboost_project, model)
    assert refused.returncode != 0
    assert f"asks to load types this project does not trust: {XGBOOST_TYPES}" in refused.stderr
    assert (
        load_from(elsewhere, xgboost_project, model, MODEL_TRUST_FILE=str(written)).returncode == 0
    )


def test_the_serving_image_trusts_what_conf_configured(engine, xgboost_project: Path) -> None:
    tag = f"xgboost-check:{free_port()}"
    name = tag.replace(":", "-")
    port = free_port()
    try:
        run(f"make image IMAGE_TAGS={tag}", xgboost_project)
        run(f"docker run -d --name {name} -p 127.0.0.1:{port}:8000 {tag}", xgboost_project)
        deadline = time.monotonic() + 90
        health = "docker inspect -f '{{.State.Health.Status}}' " + name
        while run(health, xgboost_project).stdout.strip() != "healthy":
            assert time.monotonic() < deadline, run(f"docker logs {name}", xgboost_project).stderr
            time.sleep(1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/version", timeout=10) as answer:
            version = json.loads(answer.read())
        assert version["model_version"] == "1" and version["prediction_path"] == "lean"
        assert version["prediction_path_reason"].startswith(LEAN.removeprefix("lean, "))
        env = run(f"docker inspect -f '{{{{json .Config.Env}}}}' {name}", xgboost_project).stdout
        assert "MODEL_TRUSTED_TYPES" not in env and "MODEL_TRUST_FILE=" in env
    finally:
        run(f"docker rm -f {name}", xgboost_project, check=False)
        run(f"docker rmi -f {tag}", xgboost_project, check=False)
