"""This checkout's metrics against a base commit's, as the markdown table CI posts on a PR.

    python -m goldenpath.ops.metrics_report BASE_REV OUT.md      (or: make metrics-report BASE=...)

Both sides come from `make repro-ci` (the sample data, so like is compared with
like): this checkout's metrics.json must be fresh from it, and BASE_REV's are
computed in a throwaway clone. Below the metrics, what computes each side: the
goldenpath runtime's version and the stages whose runtime.yaml entry differs (an
upgrade pull request shows what it changed, and what that did to the metrics). Then
the service and the monitor on each side's champion (service_check.py): its answer to
the contract's example, the models that answered, each simulated week's verdict. This
checkout's come from build/service-check.json when `make service-check` made it from
this checkout (else the report runs it); the base commit's from its own
`make service-check`, when it has one.
"""

import json
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import yaml

from ..core.stages import RUNTIME_FILE
from ..core.tasks import LABELS, METRICS
from . import service_check

MARKER = (
    "<!-- metrics-report -->"  # the project's scripts/pr_comment.py updates the comment that has it
)
SERVICE_CHECK_S = 1200  # the base commit's `make service-check`, at most
VERDICTS = {"passed": "✅", "failed": "❌"}  # else (not judged): ⚠️


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
        self.service: dict | None = None  # service_check.py's result
        self.service_note = ""  # why there is none


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
        side = Side(clone)
        side.service, side.service_note = base_service(clone)
        return side, ""


def base_service(clone: Path) -> tuple[dict | None, str]:
    """The base commit's own `make service-check`, if its Makefile has the target."""
    if not re.search(r"^service-check:", (clone / "Makefile").read_text(), re.M):
        return None, "the base commit's Makefile has no `service-check` target (an older project)"
    print("service check: on the base commit", file=sys.stderr)
    try:
        run = subprocess.run(
            ["make", "--no-print-directory", "service-check"],
            cwd=clone,
            capture_output=True,
            text=True,
            timeout=SERVICE_CHECK_S,
        )
    except subprocess.TimeoutExpired:
        return None, f"`make service-check` took over {SERVICE_CHECK_S} s on the base commit"
    try:
        result = json.loads((clone / service_check.RESULT).read_text())
    except (OSError, ValueError):
        print(run.stdout[-4000:], run.stderr[-4000:], sep="\n", file=sys.stderr)
        return None, "`make service-check` failed on the base commit (log above)"
    if result.get("format") != service_check.FORMAT:
        found = result.get("format")
        return None, f"the base commit's service check is of another format ({found})"
    return result, ""


def head_service() -> dict:
    """This checkout's service check: build/service-check.json if made from it, else run now."""
    if (result := service_check.fresh()) is not None:
        return result
    print(
        f"service check: on this checkout ({service_check.RESULT} is missing or was made "
        "from other files)",
        file=sys.stderr,
    )
    result = service_check.check()
    service_check.write(result, service_check.RESULT)
    return result


def verdict(name: str, change: float) -> str:
    metric = METRICS.get(name.rsplit(".", 1)[-1])
    if change == 0 or metric is None:
        return ""
    better = (change > 0) == metric.higher_is_better
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


def cell(text: object) -> str:
    """`text` as one cell of a markdown table: one line, its pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def service_table(
    before: dict | None, after: dict, base: str, head: str, base_note: str = ""
) -> list[str]:
    """The service and the monitor on each side's champion (service_check.py), side by side."""
    sides = (before, after)
    answered = [side for side in sides if side and side["answered"]]
    weeks = sorted({name for side in answered for name in side["weeks"]})
    target = after.get("target", "answer")
    rows = {"Service": [_served(side) for side in sides]}
    shown = {
        f"Example's {target}": _example,
        "Samples answered": _samples,
        "Models that answered": lambda side: ", ".join(side["models"]),
    } | {f"Week `{name}`": lambda side, name=name: _week(side["weeks"].get(name)) for name in weeks}
    for name, show in shown.items():
        rows[name] = [show(side) if side in answered else "-" for side in sides]
    if len(answered) == 2:  # the example's answer: did the upgrade change it?
        old, new = (side["example"]["answer"] for side in answered)
        rows[f"Example's {target}"][1] += f" ({new - old:+.2f})" if new != old else " (same)"
    lines = [
        "### Service and monitoring (`make service-check`: each side's champion served)",
        "",
        f"| | Base `{base}` | This PR `{head}` |",
        "| --- | --- | --- |",
        *(f"| {name} | {' | '.join(map(cell, values))} |" for name, values in rows.items()),
    ]
    if before is None and base_note:
        lines += ["", f"Base: {base_note}."]
    return lines


def _served(side: dict | None) -> str:
    if side is None:
        return "-"
    if not side["answered"]:
        return f"❌ did not answer: {side['problem']}"
    version = side.get("version") or {}
    served = f"✅ {version.get('model_name', 'version')} {side['model_version']}"
    metric = version.get("metric", "mae")
    holdout = version.get("holdout") or {"mae": version.get("holdout_mae")}  # 1.1's: MAE only
    if holdout.get(metric) is not None:
        served += f", holdout {LABELS.get(metric, metric)} {holdout[metric]:.3f}"
    if version.get("prediction_path"):
        served += f", {version['prediction_path']} predictions"
    return served


def _example(side: dict) -> str:
    return f"{side['example']['answer']:.2f}"


def _samples(side: dict) -> str:
    samples = side["samples"]
    count = len(samples["requests"])
    if samples["status"] == 200:
        return f"{count} of {count}"
    return f"0 of {count}: {samples['status']} {samples['detail']}"


def _week(week: dict | None) -> str:
    if week is None:
        return "no such week"
    mark = VERDICTS.get(week["verdict"], "⚠️")
    return f"{mark} {week['line']} ({week.get('answered', 0)} of {week['orders']} orders)"


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
    after.service = head_service()
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
    base_note = problem or (before.service_note if before else "")
    report += ["", *service_table(before and before.service, after.service, base, head, base_note)]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(report) + "\n")
    print(out.read_text())


if __name__ == "__main__":
    main()
