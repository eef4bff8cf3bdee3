"""The release's decision: what an image is built from, and what makes a new one.

ops/release.py builds the champion's image only when its fingerprint (the champion,
the runtime, the serving dependencies, the Dockerfile, the project's code, the trusted
types) differs from the one the released image records. Against a real registry:
the template's tests/test_stack_release.py.
"""

import json
import shlex
from pathlib import Path

import pytest

from goldenpath.ops import release

CHAMPION = {"model_name": "eta-test", "model_version": "3", "run_id": "abc123"}
LOCK = """version = 1
requires-python = ">=3.11"

[[package]]
name = "goldenpath"
version = "{version}"
source = {{ registry = "wheels" }}
wheels = [
    {{ path = "goldenpath-{version}-py3-none-any.whl" }},
]
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project's root as the release sees it: what goes into its serving image."""
    (tmp_path / "uv.lock").write_text(LOCK.format(version="1.0.0"))
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / "goldenpath-1.0.0-py3-none-any.whl").write_bytes(b"the runtime")
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim@sha256:aaa\n")
    (tmp_path / ".dockerignore").write_text("*\n!src/\n")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "eta-test"\n')
    (tmp_path / "src" / "eta_test").mkdir(parents=True)
    (tmp_path / "src" / "eta_test" / "usecase.py").write_text("USE_CASE = ...\n")
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "ridge.yaml").write_text(
        "_target_: sklearn.linear_model.Ridge\n"
    )
    (tmp_path / "serving-dependencies.txt").write_text("numpy==2.4.6\n")
    # `uv export` needs a resolvable project; what it prints is what counts here.
    monkeypatch.setattr(release, "SERVING_DEPENDENCIES", ["cat", "serving-dependencies.txt"])
    return tmp_path


def test_the_same_inputs_give_the_same_fingerprint_and_no_build(project: Path) -> None:
    before = release.fingerprint(CHAMPION, project)
    assert set(before) == set(release.PARTS)
    (project / "src" / "eta_test" / "__pycache__").mkdir()
    (project / "src" / "eta_test" / "__pycache__" / "usecase.cpython-311.pyc").write_bytes(b"x")
    assert release.fingerprint(CHAMPION, project) == before  # caches are not inputs
    tag = "registry/eta-test:model-3"
    assert release.why_build(tag, before, release.Released(dict(before))) is None


@pytest.mark.parametrize(
    ("change", "part", "shown"),
    [
        (lambda p: p.joinpath("Dockerfile").write_text("FROM python:3.11-slim@sha256:bbb\n"),
         "dockerfile", "the Dockerfile: sha256:"),
        (lambda p: p.joinpath("src", "eta_test", "fix.py").write_text("SAFE = True\n"),
         "code", "the project's code (pyproject.toml, src/): sha256:"),
        (lambda p: p.joinpath("serving-dependencies.txt").write_text("numpy==2.4.7\n"),
         "dependencies", "the serving dependencies (uv.lock): sha256:"),
        (lambda p: p.joinpath("conf", "train.yaml").write_text("trusted_types: [mylib.]\n"),
         "trust", "the types conf/ trusts a model to hold: sha256:"),
        # The wheel bundled in wheels/, rebuilt at the same version: uv.lock is unchanged.
        (lambda p: p.joinpath("wheels", "goldenpath-1.0.0-py3-none-any.whl").write_bytes(b"fix"),
         "runtime", "the runtime: goldenpath 1.0.0, wheel sha256:"),
    ],
    ids=["dockerfile", "code", "dependencies", "trust", "runtime-wheel"],
)  # fmt: skip
def test_a_change_to_what_the_image_is_built_from_builds_it(project, change, part, shown) -> None:
    before = release.fingerprint(CHAMPION, project)
    change(project)
    now = release.fingerprint(CHAMPION, project)
    assert {name for name in now if now[name] != before[name]} == {part}
    why = release.why_build("registry/eta-test:model-3", now, release.Released(before))
    assert why.startswith("`registry/eta-test:model-3` was built from other inputs: ")
    assert shown in why and " → " in why


def test_a_new_runtime_version_is_named_in_the_reason(project: Path) -> None:
    before = release.fingerprint(CHAMPION, project)
    (project / "uv.lock").write_text(LOCK.format(version="1.1.0"))
    (project / "wheels" / "goldenpath-1.1.0-py3-none-any.whl").write_bytes(b"the runtime")
    now = release.fingerprint(CHAMPION, project)
    why = release.why_build("r/e:model-3", now, release.Released(before))
    assert "the runtime: goldenpath 1.0.0, wheel sha256:" in why
    assert "→ goldenpath 1.1.0, wheel sha256:" in why


def test_an_index_wheel_is_known_by_the_hash_uv_lock_records(project: Path) -> None:
    lock = LOCK.format(version="1.0.0").replace(
        '{ path = "goldenpath-1.0.0-py3-none-any.whl" }',
        '{ url = "https://index.example/goldenpath-1.0.0-py3-none-any.whl", hash = "sha256:1" }',
    )
    (project / "uv.lock").write_text(lock)
    first = release.runtime_identity(project)
    (project / "uv.lock").write_text(lock.replace("sha256:1", "sha256:2"))
    assert first.startswith("1.0.0@sha256:") and release.runtime_identity(project) != first


def test_a_new_champion_builds_and_the_reason_names_it(project: Path) -> None:
    before = release.fingerprint(CHAMPION, project)
    now = release.fingerprint(CHAMPION | {"run_id": "def456"}, project)
    why = release.why_build("r/e:model-3", now, release.Released(before))
    assert why == (
        "`r/e:model-3` was built from other inputs: the champion: eta-test version 3, run abc123"
        " → eta-test version 3, run def456"
    )
    absent = release.Released(None, "does not exist yet")
    assert release.why_build("r/e:model-4", now, absent) == "`r/e:model-4` does not exist yet"


def test_the_fingerprint_goes_on_the_command_line_as_labels(project: Path) -> None:
    parts = release.fingerprint(CHAMPION, project)
    flags = release.labels(parts)
    assert shlex.split(" ".join(flags)) == flags  # make passes BUILD_FLAGS through a shell
    found = dict(flag.removeprefix("--label=").split("=", 1) for flag in flags)
    image = {"config": {"Labels": found | {"org.opencontainers.image.title": "eta-test"}}}
    assert release.recorded(image) == parts
    # A registry's index (a platform's image, its attestations aside) records the same.
    index = {"linux/amd64": image, "unknown/unknown": {"architecture": "unknown"}}
    assert release.recorded(json.loads(json.dumps(index))) == parts
    assert release.recorded({"config": {"Labels": {"other": "x"}}}) == {}
