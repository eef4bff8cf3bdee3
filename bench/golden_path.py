"""Time the golden path on this machine: scaffold -> setup -> repro -> a served prediction.

    uv run python bench/golden_path.py        (or: make bench-golden-path)

Prints each step's wall time, the total from scaffold to a registered champion,
and a no-op `dvc repro`, next to the targets. Uses the warm uv cache; bakes into
a temporary directory and removes it.
"""

import statistics
import sys
import tempfile
import time

from common import bake, timed

TARGETS = {"scaffold to champion": 90.0, "no-op dvc repro": 3.0}


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        project = bake(scratch)
        steps = {"cookiecutter": time.perf_counter() - start}
        steps["make setup"] = timed("make setup", project)
        steps["make repro"] = timed("make repro", project)
        champion = sum(steps.values())
        steps["make smoke (serve + predict)"] = timed("make smoke", project)
        noop = statistics.median(timed("uv run --frozen dvc repro", project) for _ in range(3))

    print(f"{'step':<32}{'seconds':>9}")
    for step, seconds in steps.items():
        print(f"{step:<32}{seconds:>9.1f}")
    print()
    print(f"{'figure':<24}{'seconds':>9}{'target':>9}{'ratio':>8}")
    for figure, seconds in (("scaffold to champion", champion), ("no-op dvc repro", noop)):
        target = TARGETS[figure]
        print(f"{figure:<24}{seconds:>9.1f}{target:>9.1f}{seconds / target:>8.2f}")
    sys.exit(
        0
        if champion <= TARGETS["scaffold to champion"] and noop <= TARGETS["no-op dvc repro"]
        else 1
    )


if __name__ == "__main__":
    main()
