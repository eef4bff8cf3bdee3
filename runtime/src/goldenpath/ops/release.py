"""The release: the team registry's champion as the serving image, never a fresh retrain.

    python -m goldenpath.ops.release IMAGE   (make release; CI runs it on main and version tags)

Needs the team's tracking server: MLFLOW_TRACKING_URI, MLFLOW_TRACKING_USERNAME and
MLFLOW_TRACKING_PASSWORD (repository secrets in CI); without them it stops, never
falling back to an embedded store. Then:
1. `dvc repro`: the commit's pipeline (up to date when its outputs come from the DVC
   remote) and the gate against the server's champion, run even when up to date: the
   commit's model is registered, and becomes champion only if it wins;
2. `models/champion/` then holds the server's champion: its image, tagged
   `model-<version>`, is pushed, unless that tag exists already: a model that did not
   win leaves the released image as it is.
What happened goes to the job summary ($GITHUB_STEP_SUMMARY) and the output.
"""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from .image_tags import ref, tags

SERVER = ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
DVC = ["uv", "run", "--frozen", "dvc"]


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


def released(image: str) -> bool:
    """True when `image` (name:tag) is in its registry already."""
    probe = ["docker", "manifest", "inspect", "--insecure", image]  # insecure: a local registry
    return subprocess.run(probe, capture_output=True).returncode == 0


def summary(text: str) -> None:
    print(text)
    if path := os.environ.get("GITHUB_STEP_SUMMARY"):
        with Path(path).open("a") as out:
            out.write(text + "\n")


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
    verdict = (
        f"The commit's model, {decision['model_name']} version {candidate['version']} "
        f"(holdout MAE {candidate['holdout_mae']:.3f}), "
        + ("is the champion." if decision["promoted"] else "did not beat the champion, ")
    )
    if not decision["promoted"]:
        before = decision["champion_before"]
        verdict += f"{before['model']} (MAE {before['holdout_mae']:.3f} on the same holdout)."
    model_tag = f"{image}:model-{version}"
    if released(model_tag):
        summary(f"### Release\n\n{verdict}\n\nThe champion's image, `{model_tag}`, is unchanged.")
        return
    all_tags = [model_tag, *(f"{image}:{tag}" for tag in tags(*ref()))]
    flags = f"--push {os.environ.get('BUILD_FLAGS', '')}".strip()
    make = ["make", "--no-print-directory", "image", "MODEL_URI=models/champion"]
    step([*make, f"BUILD_FLAGS={flags}", f"IMAGE_TAGS={' '.join(all_tags)}"])
    pushed = ", ".join(f"`{tag}`" for tag in all_tags)
    summary(f"### Release\n\n{verdict}\n\nPushed the champion, version {version}: {pushed}.")


if __name__ == "__main__":
    main()
