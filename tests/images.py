"""A built serving image, looked into and run: test_serving_image.py's and test_package_index.py's.

What every layer holds (`docker save`, read file by file, nothing extracted), and
containers of it that must answer /ready and a prediction.
"""

import json
import secrets
import shlex
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import run


def layer_files(image: str, folder: Path) -> Iterator[tuple[str, bytes]]:
    """(path, content) of every file in every layer of `image`, and of its config
    (history, environment, labels)."""
    saved = folder / "image.tar"
    run(f"docker save -o {saved} {image}", folder)
    try:
        with tarfile.open(saved) as outer:
            for member in outer:
                if not member.isfile():
                    continue
                content = outer.extractfile(member)
                try:  # a layer (layer.tar, or an OCI blob): its files, one by one
                    with tarfile.open(fileobj=content, mode="r:*") as layer:
                        for file in layer:
                            if file.isfile():
                                yield file.name, layer.extractfile(file).read()
                except tarfile.ReadError:  # manifest, config: JSON
                    content.seek(0)
                    yield member.name, content.read()
    finally:
        saved.unlink()


def look_into(
    image: str, folder: Path, values: dict[str, str], canary: str
) -> tuple[list[str], list[str]]:
    """(where each of `values` shows: a layer's file, the image's config or `docker history`;
    every file path in the layers). `canary` is a value the image does hold (its model's
    run id, say): the scan must find it, or it read nothing."""
    needles = {name: value.encode() for name, value in values.items()}
    found, paths, seen = set(), [], False
    history = run(f"docker history --no-trunc {image}", folder).stdout.encode()
    for path, content in [("docker history", history), *layer_files(image, folder)]:
        paths.append(path)
        found |= {f"{name} in {path}" for name, value in needles.items() if value in content}
        seen = seen or canary.encode() in content
    assert seen, f"{canary!r} is in none of the image's files: the scan read nothing"
    return sorted(found), paths


def build_arg(project: Path, name: str) -> str:
    """What `make image` labelled the image with (build/build-args, from the model)."""
    args = dict(
        line.split("=", 1) for line in (project / "build" / "build-args").read_text().split()
    )
    return args[name]


def image_version(image: str, package: str, folder: Path) -> str:
    script = shlex.quote(f"import importlib.metadata as m; print(m.version({package!r}))")
    return run(f"docker run --rm --entrypoint python {image} -c {script}", folder).stdout.strip()


def example(project: Path) -> dict:
    """The contract's example request, as the project's README sends it."""
    return json.loads(run("make -s example", project).stdout)


class Container:
    """A container of the image on a free loopback port; `docker rm -f` on exit."""

    def __init__(self, image: str, folder: Path, *options: str) -> None:
        self.name = f"goldenpath-test-{secrets.token_hex(4)}"
        self.image, self.folder, self.options = image, folder, options

    def __enter__(self) -> "Container":
        options = " ".join(("-p 127.0.0.1::8000", *self.options))
        run(f"docker run -d --name {self.name} {options} {self.image}", self.folder)
        port = run(f"docker port {self.name} 8000", self.folder).stdout.split()[0]
        self.url = f"http://{port}"
        return self

    def __exit__(self, *exc) -> None:
        run(f"docker rm -f {self.name}", self.folder, check=False)

    def get(self, path: str) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def wait_ready(self, timeout: float = 180) -> None:
        """/ready says true; else fail with its last answer and the container's log."""
        deadline, answer = time.monotonic() + timeout, "no answer"
        while time.monotonic() < deadline:
            try:
                status, body = self.get("/ready")
                if status == 200 and body.get("ready") is True:
                    return
                answer = f"{status} {body}"
            except (ConnectionError, TimeoutError, urllib.error.URLError) as error:
                answer = repr(error)
            state = run(f"docker inspect -f '{{{{.State.Status}}}}' {self.name}", self.folder)
            if state.stdout.strip() != "running":
                break
            time.sleep(2)
        logs = run(f"docker logs {self.name}", self.folder, check=False)
        pytest.fail(f"{self.name} not ready: {answer}\n{logs.stdout}{logs.stderr}")

    def predict(self, rows: list[dict]) -> dict:
        request = urllib.request.Request(
            f"{self.url}/predict",
            data=json.dumps(rows).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())
