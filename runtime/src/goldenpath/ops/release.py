"""The release: the team registry's champion as the serving image, never a fresh retrain.

    python -m goldenpath.ops.release IMAGE   (make release; CI runs it on main and version tags)

Needs the team's tracking server: MLFLOW_TRACKING_URI, MLFLOW_TRACKING_USERNAME and
MLFLOW_TRACKING_PASSWORD (repository secrets in CI); without them it stops, never
falling back to an embedded store. Then:
1. `dvc repro`: the commit's pipeline (up to date when its outputs come from the DVC
   remote) and the gate against the server's champion, run even when up to date: the
   commit's model is registered, and becomes champion only if it wins;
2. `models/champion/` then holds the server's champion. Its image, `IMAGE:model-<version>`,
   is built and pushed unless the one released already was built from the same inputs.
   Each release records them on the image as labels (FINGERPRINT): the champion (name,
   version, run id), the runtime (its version and wheel's hash in uv.lock), the serving
   dependencies uv.lock pins, the Dockerfile, the project's code (pyproject.toml, src/)
   and what conf/ trusts a model to hold. A new champion, a runtime upgrade, a fix in
   the service or a new base image named in the Dockerfile each ship; a commit that
   changes none of them (a retrain that lost, docs) pushes nothing. A base image is
   what the Dockerfile names: pin it by digest, so that its updates (Dependabot) ship.
What happened, and why it built or not, goes to the job summary ($GITHUB_STEP_SUMMARY)
and the output.
"""

import hashlib
import json
import os
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..core import model_io
from ..core.tasks import LABELS
from .image_tags import ref, tags

SERVER = ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
DVC = ["uv", "run", "--frozen", "dvc"]
RUNTIME = "goldenpath"
LABEL = "dev.goldenpath.release."  # + each part of the fingerprint
# The fingerprint's parts, as the summary names them.
PARTS = {
    "champion": "the champion",
    "runtime": "the runtime",
    "dependencies": "the serving dependencies (uv.lock)",
    "dockerfile": "the Dockerfile",
    "code": "the project's code (pyproject.toml, src/)",
    "trust": "the types conf/ trusts a model to hold",
}
DOCKERFILE = ("Dockerfile", ".dockerignore")
CODE = ("pyproject.toml", "src")
# What the serving image installs (Dockerfile: `uv sync --no-default-groups`), the runtime
# apart (its own part, hashed from its wheel).
SERVING_DEPENDENCIES = [
    "uv", "export", "--frozen", "--no-default-groups", "--no-emit-project",
    "--no-emit-package", RUNTIME, "--no-header", "--no-annotate",
]  # fmt: skip


def missing_settings() -> list[str]:
    return [name for name in SERVER if not os.environ.get(name)]


def require_server() -> None:
    if missing := missing_settings():
        sys.exit(
            f"{', '.join(missing)} not set: the release gates and ships the team's champion, "
            "so it needs the team's tracking server. Set them as repository secrets "
            "(Settings > Secrets and variables > Actions, or `gh secret set NAME`), or in "
            "your shell to release from a laptop."
        )


def step(command: list[str]) -> None:
    print(f"$ {shlex.join(command)}", flush=True)
    subprocess.run(command, check=True)


def summary(text: str) -> None:
    print(text)
    if path := os.environ.get("GITHUB_STEP_SUMMARY"):
        with Path(path).open("a") as out:
            out.write(text + "\n")


def fingerprint(champion: dict, root: Path = Path()) -> dict[str, str]:
    """What the champion's image would be built from, one value per part (PARTS).

    Values have no spaces: they go on the build's command line as labels.
    """
    return {
        "champion": f"{champion['model_name']}/{champion['model_version']}@{champion['run_id']}",
        "runtime": runtime_identity(root),
        "dependencies": _digest(_serving_dependencies(root).encode()),
        "dockerfile": _files_digest(root, DOCKERFILE),
        "code": _files_digest(root, CODE),
        "trust": _digest(json.dumps(_trust(root)).encode()),
    }


def runtime_identity(root: Path = Path()) -> str:
    """`<version>@sha256:<hash>`: the runtime uv.lock pins, and its wheel's bytes (the hash
    uv.lock records for an index's wheel; the file's own for the wheel in wheels/, which
    uv.lock records without one)."""
    lock = tomllib.loads((root / "uv.lock").read_text())
    entry = next((p for p in lock.get("package", []) if p["name"] == RUNTIME), None)
    if entry is None:
        return "absent"
    hashes = []
    registry = entry.get("source", {}).get("registry", "")
    for wheel in entry.get("wheels", []):
        if "hash" in wheel:
            hashes.append(wheel["hash"])
        elif "path" in wheel and (root / registry / wheel["path"]).is_file():
            hashes.append(_digest((root / registry / wheel["path"]).read_bytes()))
    return f"{entry['version']}@{_digest(''.join(sorted(hashes)).encode())}"


def _trust(root: Path) -> list[str]:
    """What the image's trusted-types.json will say (serving/export.py writes it)."""
    return model_io.configured_trust(root / model_io.CONF_DIR, root / model_io.PARAMS_FILE)


def _serving_dependencies(root: Path) -> str:
    return subprocess.run(
        SERVING_DEPENDENCIES, cwd=root, check=True, capture_output=True, text=True
    ).stdout


def _files_digest(root: Path, names: tuple[str, ...]) -> str:
    """One hash of the files `names` are or hold (caches left out), paths included."""
    digest = hashlib.sha256()
    for name in names:
        path = root / name
        found = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in found:
            if not file.is_file() or "__pycache__" in file.parts or file.suffix == ".pyc":
                continue
            digest.update(file.relative_to(root).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(file.read_bytes()).digest())
        if not found or not path.exists():
            digest.update(f"{name}: absent\0".encode())
    return f"sha256:{digest.hexdigest()}"


def _digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def labels(parts: dict[str, str]) -> list[str]:
    """The build's flags that record `parts` on the image."""
    return [f"--label={LABEL}{part}={value}" for part, value in parts.items()]


@dataclass(frozen=True)
class Released:
    """What the registry says about an image: its fingerprint, or why there is none."""

    parts: dict[str, str] | None
    why_none: str = ""  # when parts is None: completes "Built because `IMAGE:TAG` ..."


def released(image: str) -> Released:
    """The fingerprint recorded on `image` (name:tag) in its registry.

    `docker buildx imagetools inspect` reads it with the engine's logins (a registry:2
    on localhost needs none); what cannot be read is built, saying why.
    """
    inspect = ["docker", "buildx", "imagetools", "inspect", "--format", "{{json .Image}}", image]
    answer = subprocess.run(inspect, capture_output=True, text=True)
    if answer.returncode != 0:
        error = (answer.stderr or answer.stdout or "no answer").strip().splitlines()[-1]
        if "not found" in error.lower():
            return Released(None, "does not exist yet")
        return Released(None, f"could not be read ({error})")
    if parts := recorded(json.loads(answer.stdout)):
        return Released(parts)
    return Released(None, "records no fingerprint (released before they were recorded)")


def recorded(image: dict) -> dict[str, str]:
    """The fingerprint in an image's configuration (`imagetools inspect`'s `.Image`)."""
    if "config" not in image:  # an index: one image per platform (attestations aside)
        images = [value for value in image.values() if isinstance(value, dict)]
        image = next((value for value in images if "config" in value), {})
    found = (image.get("config") or {}).get("Labels") or {}
    return {key.removeprefix(LABEL): value for key, value in found.items() if key.startswith(LABEL)}


def show(part: str, value: str | None) -> str:
    """A part's value as the summary shows it (hashes cut to 12 digits)."""
    if value is None:
        return "not recorded"
    if part == "champion":
        name, _, rest = value.partition("/")
        version, _, run = rest.partition("@")
        return f"{name} version {version}, run {run}"
    if part == "runtime":
        version, _, wheel = value.partition("@")
        return f"{RUNTIME} {version}, wheel {show('', wheel)}"
    return value[: len("sha256:") + 12] if value.startswith("sha256:") else value


def differences(before: dict[str, str], now: dict[str, str]) -> list[str]:
    """What changed from `before` to `now`, one phrase per part that did."""
    return [
        f"{PARTS[part]}: {show(part, before.get(part))} → {show(part, value)}"
        for part, value in now.items()
        if before.get(part) != value
    ]


def why_build(model_tag: str, now: dict[str, str], before: Released) -> str | None:
    """Why the image must be built, or None when the released one has the same inputs."""
    if before.parts is None:
        return f"`{model_tag}` {before.why_none}"
    if changed := differences(before.parts, now):
        return f"`{model_tag}` was built from other inputs: {'; '.join(changed)}"
    return None


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m goldenpath.ops.release IMAGE")
    image = sys.argv[1]
    require_server()
    step([*DVC, "repro"])
    step([*DVC, "repro", "--force", "--single-item", "register"])
    decision = json.loads(Path("reports/registration.json").read_text())
    champion = json.loads(Path("models/champion/champion.json").read_text())
    version, candidate = champion["model_version"], decision["candidate"]
    figure, label = f"holdout_{decision['metric']}", LABELS[decision["metric"]]
    verdict = (
        f"The commit's model, {decision['model_name']} version {candidate['version']} "
        f"(holdout {label} {candidate[figure]:.3f}), "
        + ("is the champion." if decision["promoted"] else "did not beat the champion, ")
    )
    if not decision["promoted"]:
        before = decision["champion_before"]
        verdict += f"{before['model']} ({label} {before[figure]:.3f} on the same holdout)."
    model_tag = f"{image}:model-{version}"
    now = fingerprint(champion)
    why = why_build(model_tag, now, released(model_tag))
    if why is None:
        summary(
            f"### Release\n\n{verdict}\n\nThe champion's image, `{model_tag}`, is unchanged: "
            f"it was built from the same champion ({show('champion', now['champion'])}), "
            f"runtime ({show('runtime', now['runtime'])}), serving dependencies, Dockerfile, "
            "code and trusted types. Nothing was built or pushed."
        )
        return
    all_tags = [model_tag, *(f"{image}:{tag}" for tag in tags(*ref()))]
    flags = " ".join(["--push", *labels(now), os.environ.get("BUILD_FLAGS", "")]).strip()
    make = ["make", "--no-print-directory", "image", "MODEL_URI=models/champion"]
    step([*make, f"BUILD_FLAGS={flags}", f"IMAGE_TAGS={' '.join(all_tags)}"])
    pushed = ", ".join(f"`{tag}`" for tag in all_tags)
    summary(
        f"### Release\n\n{verdict}\n\nBuilt because {why}.\n\n"
        f"Pushed the champion, version {version}: {pushed}."
    )


if __name__ == "__main__":
    main()
