"""The runtime from the team's package index (`package_index`), tested offline.

The runtime's wheel is served from a PEP 503 page on loopback, behind HTTP basic auth:
one bake points at it, `make setup` locks it (the index and the wheel's hash), a moved
folder and a fresh clone sync that lock as it is, and `make image` installs it with the
credentials as build secrets, which no layer keeps. And the answer check: empty or the
index's http(s) URL, without credentials.
"""

import base64
import hashlib
import http.server
import shutil
import threading
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .conftest import TEMPLATE, bake, bake_cli, read_env, run
from .images import Container, build_arg, example, image_version, look_into

BAD_INDEXES = [
    ("packages.example.com/simple", "is not an http(s) URL"),
    ("ftp://packages.example.com/simple", "is not an http(s) URL"),
    ("https://packages.example.com:https/simple", "is not an http(s) URL"),
    ("https:///simple", "is not an http(s) URL"),
    ("file:///srv/wheels", "the serving image's build cannot read"),
    ("https://alice:hunter2@packages.example.com/simple", "UV_INDEX_GOLDENPATH_PASSWORD"),
    ("https://packages.example.com/simple?token=abc", "a query"),
    ("https://packages.example.com/my simple", "spaces"),
    ('https://packages.example.com/"simple"', "quotes"),
]


@pytest.mark.parametrize(("answer", "problem"), BAD_INDEXES, ids=str)
def test_a_bad_package_index_is_refused_in_one_line(answer, problem, tmp_path) -> None:
    result = bake_cli(tmp_path, package_index=answer)
    output = result.stdout + result.stderr
    lines = [line for line in output.splitlines() if line.strip()]
    assert result.returncode != 0 and len(lines) == 1, output
    [error] = lines
    assert error.startswith("ERROR: package_index") and problem in error, error
    assert "hunter2" not in error  # a password in the answer is not printed back
    assert list(tmp_path.iterdir()) == []


def test_an_https_index_with_a_port_is_accepted(tmp_path) -> None:
    url = "https://packages.example.com:8443/pypi/simple/"
    result = bake_cli(tmp_path, package_index=url)
    assert result.returncode == 0, result.stdout + result.stderr
    pyproject = tomllib.loads((tmp_path / "eta-predictor" / "pyproject.toml").read_text())
    assert pyproject["tool"]["uv"]["index"] == [
        {"name": "goldenpath", "url": url, "explicit": True}
    ]


@dataclass
class Index:
    """The runtime's wheel on a PEP 503 page, behind basic auth; what it was asked."""

    url: str
    wheel: Path
    username: str
    password: str
    asked: list[tuple[str, str, bool]] = field(default_factory=list)  # method, path, authorized

    @property
    def credentials(self) -> dict[str, str]:
        return {
            "UV_INDEX_GOLDENPATH_USERNAME": self.username,
            "UV_INDEX_GOLDENPATH_PASSWORD": self.password,
        }

    @property
    def authorization(self) -> str:
        return base64.b64encode(f"{self.username}:{self.password}".encode()).decode()

    def downloads(self) -> int:
        """Authorized downloads of the wheel so far."""
        path = f"/simple/goldenpath/{self.wheel.name}"
        return sum(
            1 for method, asked, ok in self.asked if (method, asked, ok) == ("GET", path, True)
        )


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    root = tmp_path_factory.mktemp("index")
    project_page = root / "simple" / "goldenpath"
    run(f"uv build --quiet --wheel --out-dir {project_page} {TEMPLATE / 'runtime'}", root)
    (project_page / ".gitignore").unlink(missing_ok=True)
    [wheel] = project_page.glob("goldenpath-*.whl")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (project_page / "index.html").write_text(  # a real index's page: each file with its hash
        f'<!DOCTYPE html>\n<html><body>\n<a href="{wheel.name}#sha256={digest}">{wheel.name}</a>\n'
        "</body></html>\n"
    )
    index = Index("", wheel, "goldenpath-ci", f"index-password-{digest[:24]}")
    expected = f"Basic {index.authorization}"

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self) -> None:
            self.authorized(super().do_GET)

        def do_HEAD(self) -> None:
            self.authorized(super().do_HEAD)

        def authorized(self, serve) -> None:
            ok = self.headers.get("Authorization") == expected
            index.asked.append((self.command, self.path, ok))
            if ok:
                serve()
                return
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="goldenpath"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    index.url = f"http://127.0.0.1:{server.server_address[1]}/simple/"
    yield index
    server.shutdown()


@pytest.fixture(scope="module")
def indexed(index: Index, tmp_path_factory) -> Path:
    """One bake with package_index, set up: shared by every check below."""
    project = bake(tmp_path_factory.mktemp("indexed"), package_index=index.url)
    run("make setup", project, **index.credentials)
    return project


def runtime_entry(project: Path) -> dict:
    lock = tomllib.loads((project / "uv.lock").read_text())
    [entry] = [package for package in lock["package"] if package["name"] == "goldenpath"]
    return entry


@pytest.mark.slow
def test_setup_locks_the_runtime_from_the_index_with_its_hash(index: Index, indexed) -> None:
    entry = runtime_entry(indexed)
    digest = hashlib.sha256(index.wheel.read_bytes()).hexdigest()
    assert entry["source"] == {"registry": index.url}
    [wheel] = entry["wheels"]
    assert wheel["url"] == f"{index.url}goldenpath/{index.wheel.name}"
    assert wheel["hash"] == f"sha256:{digest}"
    assert not (indexed / "wheels").exists()
    tracked = run("git ls-files", indexed).stdout.split()
    assert "uv.lock" in tracked and not [path for path in tracked if path.endswith(".whl")]
    for name in ("pyproject.toml", "uv.lock"):  # committed: no credentials in them
        text = (indexed / name).read_text()
        assert index.username not in text and index.password not in text, name
    assert index.downloads() >= 1
    with pytest.raises(urllib.error.HTTPError) as refused:  # the index does ask for them
        urllib.request.urlopen(f"{index.url}goldenpath/", timeout=10)
    assert refused.value.code == 401


@pytest.mark.slow
def test_a_moved_folder_and_a_fresh_clone_sync_the_lock_as_it_is(
    index: Index, indexed: Path, tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    run(f"git clone -q {indexed} {clone}", tmp_path)
    run("uv sync --locked --quiet --no-default-groups", clone, **index.credentials)
    assert run("git status --porcelain", clone).stdout == ""
    assert list(clone.glob(".venv/lib/python3.*/site-packages/goldenpath/serving"))
    moved = tmp_path / "moved" / indexed.name
    moved.parent.mkdir()
    shutil.move(indexed, moved)
    try:
        run("uv sync --locked --quiet", moved, **index.credentials)
        assert run("git status --porcelain", moved).stdout == ""
    finally:
        shutil.move(moved, indexed)


@pytest.mark.slow
def test_hadolint_passes_on_the_index_dockerfile(indexed: Path) -> None:
    result = run("hadolint Dockerfile", indexed, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_the_image_installs_it_with_build_secrets_that_no_layer_keeps(
    engine, index: Index, indexed: Path, trained: Path, tmp_path: Path
) -> None:
    """The build reaches the loopback index through the host's network (a team's index is
    reachable by its URL); the champion is the shared trained project's."""
    image = read_env(indexed)["SERVE_IMAGE"]
    before = index.downloads()
    try:
        champion = trained / "models" / "champion"
        flags = "BUILD_FLAGS=--network=host"
        run(f"make image MODEL_URI={champion} {flags}", indexed, **index.credentials)
        assert index.downloads() > before  # the build's own, authorized download
        assert image_version(image, "goldenpath", tmp_path) == runtime_entry(indexed)["version"]
        credentials = {
            "username": index.username,
            "password": index.password,
            "basic authorization": index.authorization,
        }
        run_id = build_arg(indexed, "RUN_ID")
        leaks, paths = look_into(image, tmp_path, credentials, canary=run_id)
        assert leaks == []
        assert any("site-packages/goldenpath/" in path for path in paths)
        with Container(image, tmp_path) as container:
            container.wait_ready()
            [minutes] = container.predict([example(indexed)])["delivery_minutes"]
            assert minutes > 0
    finally:
        run(f"docker image rm -f {image}", tmp_path, check=False)
