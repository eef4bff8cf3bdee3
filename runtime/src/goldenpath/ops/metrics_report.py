"""This checkout's metrics against a base commit's, as the markdown table CI posts on a PR.

    python -m goldenpath.ops.metrics_report BASE_REV OUT.md      (or: make metrics-report BASE=...)

Both sides come from `make repro-ci` (the sample data, so like is compared with
like): this checkout's metrics.json must be fresh from it, and BASE_REV's are
computed in a throwaway clone. Below the metrics, what computes each side: the
goldenpath runtime's version and the stages whose runtime.yaml entry differs (an
upgrade pull request shows what it changed, and what that did to the metrics).
"""

import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import yaml

from ..core.stages import RUNTIME_FILE

MARKER = (
    "<!-- metrics-report -->"  # the project's scripts/pr_comment.py updates the comment that has it
)
LOWER_IS_BETTER = ("mae", "rmse")
HIGHER_IS_BETTER = ("r2",)


def flatten(metrics: dict, prefix: str = "") -> dict[str, float]:
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            flat |= flatten(value, f"{prefix}{key}.")
        elif isinstance(value, int | float):
            flat[f"{prefix}{key}"] = float(value)
    return flat


def git(*args: str, cwd: Path = Path()) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout


class Side:
    """What one side of the comparison ran: its metrics, runtime version and stages."""

    def __init__(self, root: Path) -> None:
        self.metrics = flatten(json.loads((root / "metrics.json").read_text()))
        lock = tomllib.loads((root / "uv.lock").read_text())
        found = [p["version"] for p in lock.get("package", []) if p["name"] == "goldenpath"]
        self.runtime = found[0] if found else "none"
        stages = root / RUNTIME_FILE
        self.stages = yaml.safe_load(stages.read_text()) if stages.is_file() else {}


def base_side(rev: str) -> tuple[Side | None, str]:
    """What `make repro-ci` at `rev` gives, or (None, why not)."""
    with tempfile.TemporaryDirectory(prefix="metrics-base-") as tmp:
        clone = Path(tmp) / "base"
        git("clone", "--quiet", "--no-checkout", ".", str(clone))
        git("checkout", "--quiet", rev, cwd=clone)
        run = subprocess.run(
            ["make", "--no-print-directory", "ci-setup", "repro-ci"],
            cwd=clone,
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            print(run.stdout[-4000:], run.stderr[-4000:], sep="\n", file=sys.stderr)
            return None, "`make ci-setup repro-ci` failed on the base commit (log above)"
        return Side(clone), ""


def verdict(name: str, change: float) -> str:
    leaf = name.rsplit(".", 1)[-1]
    if change == 0 or leaf not in LOWER_IS_BETTER + HIGHER_IS_BETTER:
        return ""
    better = (change < 0) == (leaf in LOWER_IS_BETTER)
    return " ✅ better" if better else " ⚠️ worse"


def table(before: dict[str, float] | None, after: dict[str, float], base: str, head: str) -> str:
    lines = [
        f"| Metric | Base `{base}` | This PR `{head}` | Change |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name in sorted(after.keys() | (before or {}).keys()):
        old, new = (before or {}).get(name), after.get(name)
        if old is None or new is None:
            change = "new" if old is None else "removed"
        elif new == old:
            change = "no change"
        else:
            delta = new - old
            percent = f" ({delta / old:+.1%})" if old else ""
            change = f"{delta:+.4f}{percent}{verdict(name, delta)}"
        show = [f"{value:.4f}" if value is not None else "-" for value in (old, new)]
        lines.append(f"| {name} | {show[0]} | {show[1]} | {change} |")
    return "\n".join(lines)


def runtime_changes(before: Side, after: Side) -> list[str]:
    """The runtime's version on each side, and each stage whose runtime entry changed."""
    version = (
        f"goldenpath {after.runtime}, unchanged"
        if before.runtime == after.runtime
        else f"goldenpath {before.runtime} → {after.runtime}"
    )
    lines = ["### What computes the pipeline (runtime.yaml)", "", f"Runtime: {version}."]
    changed = [  # in the pipeline's order
        stage
        for stage in {**before.stages, **after.stages}
        if before.stages.get(stage) != after.stages.get(stage)
    ]
    if not changed:
        return [*lines, "No stage's runtime changed."]
    lines += ["", "| Stage | Base | This PR |", "| --- | --- | --- |"]
    for stage in changed:
        old, new = (side.stages.get(stage, "-") for side in (before, after))
        lines.append(f"| {stage} | {old} | {new} |")
    return lines


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: python -m goldenpath.ops.metrics_report BASE_REV OUT.md")
    base_rev, out = sys.argv[1], Path(sys.argv[2])
    metrics = Path("metrics.json")
    if not metrics.is_file():
        sys.exit("metrics.json is missing: run `make repro-ci` first.")
    try:
        base = git("rev-parse", "--short", base_rev + "^{commit}").strip()
    except subprocess.CalledProcessError:
        sys.exit(f"{base_rev!r} is not a commit here: fetch it (git fetch origin {base_rev}).")
    head = git("rev-parse", "--short", "HEAD").strip()
    before, problem = base_side(base_rev)
    after = Side(Path())
    report = [
        MARKER,
        "### Model metrics (`make repro-ci`: the sample data)",
        "",
        table(before.metrics if before else None, after.metrics, base, head),
    ]
    if problem:
        report += ["", f"No base values: {problem}."]
    else:
        report += ["", *runtime_changes(before, after)]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(report) + "\n")
    print(out.read_text())


if __name__ == "__main__":
    main()
