"""Saving, logging and loading models: the one module that knows MLflow's model format.

A model is a scikit-learn pipeline (the contract's encoding in front of any
estimator with scikit-learn's API: scikit-learn's own, LightGBM, ...), saved
with skops, which loads only the types it was told to trust. A model directory
(MLmodel, model.skops) is read without MLflow, so the serving image carries none:
MLflow is imported only to log, save, download, or load from a registry.
"""

import importlib.metadata
import json
import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import skops.io
import yaml

from . import project
from .contract import Contract
from .derived import DeriveFeatures, code_version
from .feature import Feature
from .problems import Problem

RUNTIME = __name__.split(".", 1)[0]  # this package: its types in a model are trusted
# Always trusted: what every pipeline is made of (an OrderedDict holds LightGBM's settings).
BASE_TRUST = ("sklearn.", "numpy.", "scipy.", "collections.OrderedDict")
CONF_DIR = Path("conf")  # the project's configuration, from its root (as params.py reads it)
PARAMS_FILE = Path("params.yaml")
# The serving image has no conf/: `make image` writes the project's trust next to the
# model (TRUST_FILE_NAME, beside build/model), the image names it in TRUST_FILE.
TRUST_FILE = "MODEL_TRUST_FILE"
TRUST_FILE_NAME = "trusted-types.json"
EXTRA_TRUST = "MODEL_TRUSTED_TYPES"  # module prefixes, comma-separated: trusted for one run
SIGNATURE_TYPES = {int: "long", float: "double", str: "string", bool: "boolean"}
SKOPS = "skops"  # mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS
FEATURE_CODE = "feature_code"  # the metadata key of the derived features' code version


class UntrustedModel(Problem):
    pass


class IncompatibleModel(Problem):
    """A model whose inputs are not the contract's features; str() says which and what to do."""


def trusted_types(model: Any, library: str, extra: Iterable[str] = ()) -> list[str]:
    """The types skops must trust to load `model`: from its library, the base ones, `extra`."""
    allowed = (*BASE_TRUST, f"{library}.", *_own_packages(), *extra)
    types = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    foreign = [name for name in types if not name.startswith(allowed)]
    if foreign:
        raise UntrustedModel(
            f"the model holds types that are not trusted: {foreign}. Review them, then add "
            "their module to train.trusted_types in conf/train/."
        )
    return types


def _own_packages() -> tuple[str, ...]:
    return (f"{RUNTIME}.", f"{project.package()}.")


def configured_trust(conf_dir: Path = CONF_DIR, params: Path = PARAMS_FILE) -> list[str]:
    """What the project's configuration trusts a model to hold, as module prefixes.

    The package of every `_target_` in conf/ (each estimator of conf/model/: a library
    configured there trains, so it loads), and every `trusted_types` entry
    (train.trusted_types in conf/train/); params.yaml's too, which `dvc exp run -S` may
    have composed with another model.
    """
    found: set[str] = set()
    files = sorted(conf_dir.rglob("*.yaml")) if conf_dir.is_dir() else []
    for path in [*files, *([params] if params.is_file() else [])]:
        try:
            _collect_trust(yaml.safe_load(path.read_text()), found)
        except yaml.YAMLError:
            continue  # not this module's to report: composing conf/ says what is wrong
    return sorted(prefix for prefix in found if not prefix.startswith(BASE_TRUST))


def _collect_trust(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "_target_" and isinstance(value, str) and "." in value:
                found.add(value.split(".", 1)[0] + ".")
            elif key == "trusted_types" and isinstance(value, list):
                found.update(item for item in value if isinstance(item, str) and item)
            else:
                _collect_trust(value, found)
    elif isinstance(node, list):
        for item in node:
            _collect_trust(item, found)


def write_trust_file(path: Path) -> list[str]:
    """The project's configured trust (configured_trust) as the file a serving image loads
    models with: the team's decision, made from conf/ when the image is built."""
    trusted = configured_trust()
    note = "written from conf/ by goldenpath.serving.export: the module prefixes models may hold"
    path.write_text(json.dumps({"trusted_types": trusted, "note": note}, indent=2) + "\n")
    return trusted


def _trust_file() -> list[str]:
    """The trust file the environment names (TRUST_FILE: the serving image's), if any."""
    if not (name := os.environ.get(TRUST_FILE)):
        return []
    try:
        trusted = json.loads(Path(name).read_text())["trusted_types"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UntrustedModel(
            f"{TRUST_FILE}={name}: not a trust file `make image` wrote ({error}): "
            "rebuild the image, or unset it"
        ) from None
    return [item for item in trusted if isinstance(item, str) and item]


def project_trust() -> tuple[str, ...]:
    """Module prefixes a model may hold when it loads, besides BASE_TRUST and this project's
    and runtime's own packages: conf/ (from the project's root), the serving image's trust
    file (TRUST_FILE), and MODEL_TRUSTED_TYPES. Never what the model directory says."""
    extra = filter(None, os.environ.get(EXTRA_TRUST, "").split(","))
    return tuple(dict.fromkeys([*configured_trust(), *_trust_file(), *extra]))


def serving_requirements() -> list[str]:
    """What loading a model needs: the project's and this runtime's dependencies, pinned
    to the versions installed here. Not the runtime itself: a model holds its library's
    types, and the runtime may come from an index only the team reaches (MLflow's own
    tools install these requirements from PyPI)."""
    from packaging.requirements import Requirement

    pinned = {}
    for distribution in filter(None, (project.distribution(), RUNTIME)):
        for line in importlib.metadata.requires(distribution) or []:
            requirement = Requirement(line)
            if requirement.name == RUNTIME:
                continue
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                version = importlib.metadata.version(requirement.name)
                pinned[requirement.name] = f"{requirement.name}=={version}"
    return sorted(pinned.values())


def log_model(model: Any, features: pd.DataFrame, trusted: list[str], tags: dict[str, str]) -> str:
    """Log `model` in the active run; returns its `models:/` URI."""
    import mlflow

    saved = _as_saved(model, features, trusted, tags)
    logged = mlflow.sklearn.log_model(model, name="model", input_example=features.head(3), **saved)
    return logged.model_uri


def save_model(
    model: Any, path: Path, trusted: list[str], tags: dict[str, str], features: pd.DataFrame
) -> None:
    """`model` as a model directory, as log_model stores it but without a run."""
    import mlflow

    mlflow.sklearn.save_model(model, str(path), **_as_saved(model, features, trusted, tags))


def _as_saved(
    model: Any, features: pd.DataFrame, trusted: list[str], tags: dict[str, str]
) -> dict[str, Any]:
    from mlflow.models import infer_signature

    with warnings.catch_warnings():
        # MLflow hints that integer columns cannot hold missing values: the contract forbids them.
        warnings.filterwarnings("ignore", message=".*integer column", category=UserWarning)
        signature = infer_signature(features, model.predict(features.head(10)))
    first = model.steps[0][1] if hasattr(model, "steps") else None
    if isinstance(first, DeriveFeatures):  # the version of the feature code it was fitted with
        tags = tags | {FEATURE_CODE: first.code_version_}
    return {
        "serialization_format": SKOPS,
        "skops_trusted_types": trusted,
        "signature": signature,
        "pip_requirements": serving_requirements(),
        "metadata": tags,
    }


def _is_local(uri: str) -> bool:
    return (Path(uri) / "MLmodel").is_file()


def _mlmodel(uri: str) -> dict[str, Any]:
    """The MLmodel file of `uri`: read directly from a directory, through MLflow otherwise."""
    if _is_local(uri):
        return yaml.safe_load((Path(uri) / "MLmodel").read_text())
    from mlflow.models import Model

    return Model.load(uri).to_dict()


def load_model(uri: str) -> Any:
    """The scikit-learn pipeline at `uri` (a model directory, or a models:/ or runs:/ URI).

    The types the model's file holds (as skops reads them, whatever the model directory
    claims) are checked against what this project trusts: BASE_TRUST, this package and the
    project's, and project_trust() (conf/'s model libraries and train.trusted_types; in
    the serving image, the trust file it was built with). A registry's model is
    downloaded first, so it is checked the same way.
    """
    if _is_local(uri):
        return _load_local(Path(uri), uri)
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        return _load_local(download(uri, Path(scratch)), uri)


def _load_local(path: Path, uri: str) -> Any:
    flavor = _mlmodel(str(path))["flavors"].get("sklearn", {})
    if flavor.get("serialization_format") == SKOPS:  # as mlflow.sklearn loads it
        # The types the file holds, not the list saved with it: a new scikit-learn reads
        # an older model through types of its own (a library upgrade must still load it).
        trusted = skops.io.get_untrusted_types(file=path / flavor["pickled_model"])
        allowed = (*BASE_TRUST, *_own_packages(), *project_trust())
        if foreign := [name for name in trusted if not name.startswith(allowed)]:
            modules = sorted({name.rsplit(".", 1)[0] for name in foreign})
            raise UntrustedModel(
                f"the model at {uri} asks to load types this project does not trust: {foreign}."
                f" Review them; if the model is yours, add their module ({', '.join(modules)})"
                " to train.trusted_types in conf/train/ (then `make image` carries it into the"
                f" serving image), or set {EXTRA_TRUST} for one run."
            )
        return skops.io.load(path / flavor["pickled_model"], trusted=trusted)
    import mlflow

    return mlflow.sklearn.load_model(str(path))


def download(uri: str, destination: Path) -> Path:
    """The model files at `uri` (a registry, run or logged-model URI) in `destination`.

    MLmodel's `artifact_path` names where MLflow stored them (an absolute path in the
    embedded store): the copy records `uri` instead, so no folder name is kept.
    """
    import mlflow

    path = Path(mlflow.artifacts.download_artifacts(uri, dst_path=str(destination)))
    mlmodel = yaml.safe_load((path / "MLmodel").read_text())
    if "artifact_path" in mlmodel:
        mlmodel["artifact_path"] = uri
        (path / "MLmodel").write_text(yaml.safe_dump(mlmodel, sort_keys=False))
    return path


def metadata(uri: str) -> dict[str, str]:
    """The provenance tags the model was logged with (see tracking.provenance)."""
    return dict(_mlmodel(uri).get("metadata") or {})


def check_fits(uri: str, contract: Contract, what: str) -> None:
    """IncompatibleModel unless the model at `uri` takes exactly the contract's features."""
    mlmodel = _mlmodel(uri)
    code = _feature_code_problems(mlmodel.get("metadata") or {}, contract)
    problems = list(code)
    if signature := mlmodel.get("signature"):  # else a model saved by hand: nothing to compare
        takes = {spec["name"]: spec["type"] for spec in json.loads(signature["inputs"])}
        wants = {f.name: _signature_type(f) for f in contract.features}
        problems += [f"it lacks feature {name!r}" for name in wants if name not in takes]
        problems += [
            f"it expects {name!r}, not in the contract" for name in takes if name not in wants
        ]
        problems += [
            f"it reads {name!r} as {takes[name]}, the contract says {kind}"
            for name, kind in wants.items()
            if name in takes and takes[name] != kind
        ]
    if not problems:
        return
    if problems == code:  # the contract's columns fit: only the feature code moved on
        raise IncompatibleModel(
            f"{what} does not fit this project's feature code: {'; '.join(problems)}. Train"
            " one with the installed code (`make repro`; on the local stack, `make"
            " repro-on-stack`), or put back the code it was trained with (`git diff` shows"
            " the edit)."
        )
    if uri.startswith("models:/"):  # a registry's: the stack's, or a team server's
        remedy = (
            "Register one trained with this contract (`make repro-on-stack` on the local"
            " stack; `make repro` with MLFLOW_TRACKING_URI set for a team server)."
        )
    else:
        remedy = (
            "Serve this commit's model (`uv run dvc checkout`, then `make serve`) or train"
            " one (`make repro`)."
        )
    raise IncompatibleModel(
        f"{what} does not fit this project's feature contract: {'; '.join(problems)}. "
        "It was trained with another contract or feature code (on another branch, or"
        f" before an edit?). {remedy}"
    )


def _feature_code_problems(metadata: dict[str, Any], contract: Contract) -> list[str]:
    """Why the model's feature code is not the project's installed code, if it is not."""
    recorded = metadata.get(FEATURE_CODE)
    installed = code_version(contract.derived) if contract.derived else None
    if recorded == installed:
        return []
    if installed is None:
        return ["it computes derived features the contract no longer declares"]
    functions = sorted({one.compute.__module__ for one in contract.derived})
    if recorded is None:
        return [f"it was trained without the derived features {contract.derived_names}"]
    return [
        f"it was trained with another version of the feature code ({recorded}; the installed"
        f" {', '.join(functions)} is {installed})"
    ]


def _signature_type(feature: Feature) -> str:
    """MLflow's type of the feature's column in a validated table: a nullable int's is a
    float's, a timestamp's a datetime."""
    if feature.is_timestamp:
        return "datetime"
    return SIGNATURE_TYPES[float if feature.column_dtype is float else feature.dtype]


def single_threaded(model: Any) -> Any:
    """`model` predicting on one thread: a service gets its parallelism from worker processes."""
    if hasattr(model, "get_params"):
        threads = [name for name in model.get_params(deep=True) if name.split("__")[-1] == "n_jobs"]
        model.set_params(**dict.fromkeys(threads, 1))
    return model
