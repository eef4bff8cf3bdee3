"""The suites a project runs (goldenpath.testing) pass on a multiclass project and on a
regression with feature code.

A project of one of the tests' use cases (the lateness one with classifier configs in
conf/model/): the suites are run by pytest in a process of their own, as a project's
`make test` runs them. (The template's tests run them on every bake, a binary
classifier's in tests/test_classifier.py; these find a suite's fault before a bake.)
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from goldenpath.core import project

from .pipeline import PROJECT

RUNTIME = Path(__file__).resolve().parents[1]  # where `tests` is a package
CLASSIFIERS = {
    "hist_gradient_boosting_classifier": (
        "_target_: sklearn.ensemble.HistGradientBoostingClassifier\n"
        "max_iter: 60\nmax_leaf_nodes: 15\nrandom_state: 0\n"
    ),
    "logistic_regression": "_target_: sklearn.linear_model.LogisticRegression\nmax_iter: 1000\n",
}
SUITES = ("TestContract", "TestConf", "TestService", "TestApi", "TestPipeline", "TestMonitoring")


@pytest.mark.parametrize("use_case", ["LATENESS_USE_CASE", "RIDE_USE_CASE"])
def test_the_suites_pass(use_case: str, tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(PROJECT, root)
    if use_case == "LATENESS_USE_CASE":
        _choose_a_classifier(root, "logistic_regression")
    (root / "checks").mkdir()
    imports = ", ".join(SUITES)
    (root / "checks" / "test_goldenpath.py").write_text(
        f"from goldenpath.testing.suites import {imports}  # noqa: F401\n"
    )
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PYTEST", "MLFLOW", "DVC_", "PREDICTION_LOG"))
    }
    env |= {project.OVERRIDE: f"tests.usecase:{use_case}", "PYTHONPATH": str(RUNTIME)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "not evidently",
         "checks"],
        cwd=root, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    summary = done.stdout.splitlines()[-1]
    assert " passed" in summary and "failed" not in done.stdout
    assert "skipped" not in summary, summary  # a multiclass project is monitored as well


def _choose_a_classifier(root: Path, model: str) -> None:
    shutil.rmtree(root / "conf" / "model")
    (root / "conf" / "model").mkdir()
    for name, config in CLASSIFIERS.items():
        (root / "conf" / "model" / f"{name}.yaml").write_text(config)
    defaults = root / "conf" / "config.yaml"
    text = defaults.read_text()
    chosen = next(line for line in text.splitlines() if line.strip().startswith("- model:"))
    defaults.write_text(text.replace(chosen, f"{chosen.split(':')[0]}: {model}"))
