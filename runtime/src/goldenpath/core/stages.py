"""What computes each pipeline stage, as values DVC can compare: runtime.yaml.

A project's dvc.yaml cannot list the runtime's modules as dependencies (they are
installed, not in the repository), and should not: a comment fix there must re-run
nothing. Instead the compose stage writes, for every stage, the stage's revision in
this runtime and the versions of the libraries that shape its output (the model's
own library included), and each stage reads its entry as a parameter. So a runtime
release that changes what a stage computes (its revision is bumped), or a new
scikit-learn or LightGBM in uv.lock, re-runs the stages it affects, and nothing else.
"""

import importlib.metadata
from pathlib import Path

import yaml

RUNTIME_FILE = Path("runtime.yaml")
# Bump a stage's revision in any release that changes its output for the same inputs
# (CHANGELOG.md says so): projects that upgrade re-run it, and what depends on it.
REVISIONS = {
    "ingest": 1,
    "validate": 1,
    "split": 1,
    "train": 2,  # 2: no scaler in front of trees (1.1.0)
    "evaluate": 1,
    "register": 2,
}
# The libraries whose versions shape each stage's output, besides the model's library.
_TABLES = ("pandas", "pyarrow")
_MODELS = ("scikit-learn", "numpy", "scipy", "skops")
LIBRARIES = {
    "ingest": _TABLES,
    "validate": (*_TABLES, "pandera"),
    "split": _TABLES,
    "train": (*_TABLES, *_MODELS),
    "evaluate": (*_TABLES, *_MODELS),
    "register": (*_TABLES, *_MODELS, "mlflow"),
}
MODEL_STAGES = ("train", "evaluate", "register")
HEADER = (
    "# Written by the compose stage (goldenpath.jobs.compose): what computes each stage,\n"
    "# the runtime's revision of it and its libraries' versions. A stage re-runs when its\n"
    "# entry changes (dvc.yaml reads them as parameters). Do not edit.\n"
)


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def model_distribution(library: str) -> str | None:
    """The distribution that installs the model's module (`lightgbm`, `xgboost`...)."""
    top = library.split(".", 1)[0]
    found = importlib.metadata.packages_distributions().get(top)
    return found[0] if found else None


def fingerprints(model_library: str) -> dict[str, str]:
    """Each stage's entry: `goldenpath <stage>/<revision>; <library> <version>; ...`."""
    model = model_distribution(model_library)
    entries = {}
    for stage, revision in REVISIONS.items():
        libraries = list(LIBRARIES[stage])
        if stage in MODEL_STAGES and model and model not in libraries:
            libraries.append(model)
        pins = "; ".join(f"{name} {_version(name)}" for name in sorted(libraries))
        entries[stage] = f"goldenpath {stage}/{revision}; {pins}"
    return entries


def write(model_library: str, path: Path = RUNTIME_FILE) -> bool:
    """Write runtime.yaml; True when it changed."""
    text = HEADER + yaml.safe_dump(fingerprints(model_library), sort_keys=False, width=200)
    if path.is_file() and path.read_text() == text:
        return False
    path.write_text(text)
    return True
