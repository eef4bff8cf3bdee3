"""Model directories: saved, loaded only with trusted types, checked against the contract."""

import importlib.metadata
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from goldenpath import Contract, Feature
from goldenpath.core import model_io
from goldenpath.core.champion import ChampionRecord, install_champion
from goldenpath.core.modeling import build_model
from goldenpath.core.params import CONF_DIR, compose_params, parse_params

from .champions import TAGS
from .conftest import PROJECT
from .usecase import CONTRACT, USE_CASE

MODELS = sorted(path.stem for path in (PROJECT / "conf" / "model").glob("*.yaml"))


def halve(values):
    return values / 2


@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("model", MODELS)
def test_each_model_library_trains_saves_and_loads(model, log_target, orders, tmp_path) -> None:
    params = parse_params(compose_params(CONF_DIR, [f"model={model}"]))
    params.model.check()
    pipeline = build_model(CONTRACT, params.model, log_target=log_target)
    features = orders[CONTRACT.feature_names]
    pipeline.fit(features, orders[CONTRACT.target.name])
    trusted = model_io.trusted_types(pipeline, params.model.library, params.train.trusted_types)
    model_io.save_model(pipeline, tmp_path / "model", trusted, {}, features)
    loaded = model_io.load_model(str(tmp_path / "model"))
    # Parallel models (n_jobs) sum in any order: equal to the last few bits.
    expected = pipeline.predict(features.head(5))
    np.testing.assert_allclose(loaded.predict(features.head(5)), expected, rtol=1e-12)


def test_a_model_with_code_from_elsewhere_is_not_trusted_blindly() -> None:
    pipeline = make_pipeline(FunctionTransformer(math.sqrt))
    with pytest.raises(model_io.UntrustedModel, match=r"math\.sqrt.*train\.trusted_types"):
        model_io.trusted_types(pipeline, "sklearn")
    assert model_io.trusted_types(pipeline, "sklearn", extra=["math."]) == ["math.sqrt"]


def test_the_projects_own_code_is_trusted() -> None:
    """The use case's package (here `tests`, as GOLDENPATH_USE_CASE names it) is the team's."""
    pipeline = make_pipeline(FunctionTransformer(halve))
    assert model_io.trusted_types(pipeline, "sklearn") == [f"{__name__}.halve"]


@pytest.fixture
def saved(orders, tmp_path) -> Path:
    model = build_model(CONTRACT, parse_params(compose_params(CONF_DIR)).model)
    model.fit(orders[CONTRACT.feature_names], orders[CONTRACT.target.name])
    trusted = model_io.trusted_types(model, "sklearn")
    model_io.save_model(model, tmp_path / "model", trusted, TAGS, orders[CONTRACT.feature_names])
    return tmp_path / "model"


def test_a_model_carries_its_tags_and_its_serving_requirements(saved) -> None:
    assert model_io.metadata(str(saved)) == TAGS
    requirements = (saved / "requirements.txt").read_text().split()
    for distribution in ("scikit-learn", "skops", "pandas"):
        assert f"{distribution}=={importlib.metadata.version(distribution)}" in requirements
    # What serving needs, not the pipeline's tools (MLflow adds itself, for its own loader).
    assert not any(line.startswith(("dvc", "hydra", "pandera", "dask")) for line in requirements)


def test_a_model_of_another_contract_is_named_with_each_difference(saved, monkeypatch) -> None:
    model_io.check_fits(str(saved), CONTRACT, "the champion")  # its own contract: fine
    first, *rest = CONTRACT.features
    as_text = Feature(first.name, first.description, str, categories=("near", "far"))
    other = Contract(
        (as_text, *rest[:-1], Feature("tip", "", float, 0, 9)),
        CONTRACT.target,
        CONTRACT.key,
        {as_text.name: "near"} | {f.name: CONTRACT.example[f.name] for f in rest[:-1]} | {"tip": 1},
    )
    with pytest.raises(model_io.IncompatibleModel) as problem:
        model_io.check_fits(str(saved), other, "the champion")
    message = str(problem.value)
    assert message.startswith("the champion does not fit this project's feature contract: ")
    assert "it lacks feature 'tip'" in message
    assert f"it expects {rest[-1].name!r}, not in the contract" in message
    assert f"it reads {first.name!r} as double, the contract says string" in message
    assert "dvc checkout" in message and "make repro" in message
    # A registry's model: trained again where it is registered.
    recorded = model_io._mlmodel(str(saved))
    monkeypatch.setattr(model_io, "_mlmodel", lambda uri: recorded)
    with pytest.raises(model_io.IncompatibleModel) as problem:
        model_io.check_fits("models:/eta/1", other, "eta version 1")
    assert "`make repro-on-stack`" in str(problem.value) and "dvc checkout" not in str(
        problem.value
    )


def test_serving_runs_a_model_on_one_thread(orders) -> None:
    forest = parse_params(compose_params(CONF_DIR, ["model=random_forest"])).model
    assert forest.hyperparameters["n_jobs"] == -1
    model = model_io.single_threaded(build_model(CONTRACT, forest, log_target=True))
    threads = {k: v for k, v in model.get_params(deep=True).items() if k.endswith("n_jobs")}
    assert threads and set(threads.values()) == {1}


def test_a_champion_record_reads_its_provenance_from_the_model(saved, tmp_path) -> None:
    record = ChampionRecord.of(str(saved), USE_CASE.name, "3", "run-3", {"mae": 1.23456})
    assert (record.git_commit, record.git_dirty, record.data_md5) == ("abc123", "false", "d41d8")
    assert record.holdout_mae == 1.2346 and record.serves and record.segment is None
    assert ChampionRecord.read(saved) is None  # no champion.json yet
    record.write(saved)
    assert ChampionRecord.read(saved) == record


def test_installing_a_champion_replaces_the_model_and_keeps_what_it_is_told(saved, tmp_path):
    champion = tmp_path / "champion"
    (champion / "segments" / "porto").mkdir(parents=True)
    (champion / "segments" / "porto" / "kept").write_text("a segment's champion")
    (champion / "stale-file").write_text("of the model before")
    record = ChampionRecord.of(str(saved), USE_CASE.name, "4", "run-4", {"mae": 1.0})
    record = replace(record, baseline={"prediction_mean": 30.0})
    install_champion(saved, champion, record, keep=("segments",))
    assert not (champion / "stale-file").exists()
    assert (champion / "segments" / "porto" / "kept").read_text() == "a segment's champion"
    assert ChampionRecord.read(champion).baseline == {"prediction_mean": 30.0}
    assert not champion.with_name("champion.new").exists()
    assert model_io.load_model(str(champion)).predict(CONTRACT.frame([CONTRACT.example])).shape
