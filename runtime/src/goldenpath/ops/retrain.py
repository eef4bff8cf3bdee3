"""The scheduled retrain: the configured source's fresh data, the pipeline, the gate's verdict.

    python -m goldenpath.ops.retrain REPORT.md   (make retrain; .github/workflows/retrain.yml)

Needs the team's tracking server, as the release does (ops/release.py). Then:
1. `dvc update` for every table imported under data/external/ (`dvc import-url`):
   its source's newest version;
2. the pipeline, with the gate against the server's champion but registering
   nothing (PROMOTION_DRY_RUN=1): the pull request shows the verdict, and the release
   after its merge registers and ships;
3. REPORT.md: what data changed, and the new model against the champion.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from ..core.tasks import LABELS
from .release import DVC, require_server, step

MARKER = "<!-- retrain-report -->"


def imports() -> list[str]:
    return sorted(
        str(path) for path in Path("data/external").rglob("*.dvc") if "deps" in path.read_text()
    )


def changed(paths: list[str]) -> list[str]:
    diff = subprocess.run(["git", "status", "--porcelain", "--", *paths], capture_output=True)
    return [line[3:] for line in diff.stdout.decode().splitlines()]


def report(fetched: list[str]) -> str:
    decision = json.loads(Path("reports/registration.json").read_text())
    metrics = json.loads(Path("metrics.json").read_text())
    new, before = decision["candidate"], decision["champion_before"]
    metric = decision["metric"]  # the promotion gate's
    figure, label = f"holdout_{metric}", LABELS[metric]
    rows = [
        f"| Model | Holdout {label} |",
        "| --- | ---: |",
        f"| retrained on this data | {new[figure]:.4f} |",
    ]
    if before:
        rows.append(f"| champion, {before['model']} | {before[figure]:.4f} |")
    verdict = (
        "**It would replace the champion**: merging releases it."
        if decision["promoted"]
        else "**It does not beat the champion**: merging registers it as a challenger; "
        "the released image stays."
    )
    data = ", ".join(f"`{path}`" for path in fetched) or "no imported table changed"
    return "\n".join(
        [
            MARKER,
            "### Scheduled retrain",
            "",
            f"Fresh data: {data}. Both models scored on this data's holdout "
            f"({metrics['holdout'][metric]:.4f} {label}; a model that learnt nothing: "
            f"{metrics['baseline_' + metric]:.4f}).",
            "",
            *rows,
            "",
            verdict,
        ]
    )


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m goldenpath.ops.retrain REPORT.md")
    require_server()
    os.environ["PROMOTION_DRY_RUN"] = "1"  # jobs/register.py: the verdict, no registration
    tables = imports()
    if tables:
        step([*DVC, "update", *tables])
    else:
        print("no table imported under data/external/ (dvc import-url): no fresh data to fetch")
    step([*DVC, "repro"])
    out = Path(sys.argv[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report(changed(tables)) + "\n")
    print(out.read_text())


if __name__ == "__main__":
    main()
