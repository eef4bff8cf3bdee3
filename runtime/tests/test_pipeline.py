"""The whole pipeline, run again and again in one workspace: the promotion gates decide.

Each stage of the tests' dvc.yaml runs in-process (pipeline.py), in a workspace of its
own with its own MLflow store; the data is drawn from the contract (data/external/, as
a team's own table would be).
"""

import json
import shutil
import sys
from pathlib import Path

import mlflow

from goldenpath.core import model_io, project
from goldenpath.core.champion import ChampionRecord
from goldenpath.core.contract import Contract, Feature
from goldenpath.core.fanout import SCHEDULER
from goldenpath.core.modeling import build_model
from goldenpath.core.params import compose_params
from goldenpath.core.reference import PROFILE
from goldenpath.core.registry import BASELINE, Registry
from goldenpath.jobs import train_segments
from goldenpath.serving.model import load_served_model

from .champions import SMALL_MODEL
from .conftest import forget_the_use_case
from .pipeline import SOURCE, registry, run_pipeline, run_stage
from .usecase import CONTRACT, USE_CASE


def test_pipeline_trains_beats_the_baseline_and_promotes(workspace, monkeypatch) -> None:
    first = run_pipeline(monkeypatch)
    metrics = json.loads(Path("metrics.json").read_text())
    assert metrics["holdout"]["mae"] < 0.6 * metrics["baseline_mae"]
    assert first["promoted"] and first["candidate"]["version"] == "1"
    champion = ChampionRecord.read(Path("models/champion"))
    assert champion.model_version == "1" and champion.run_id == first["candidate"]["run_id"]
    run = mlflow.MlflowClient().get_run(champion.run_id)
    assert {"git.commit", "git.dirty", "dvc.data_md5", "dvc.experiment"} <= set(run.data.tags)
    assert "holdout_mae" in run.data.metrics
    plotted = Path("reports/plots/mae_by_segment.csv").read_text()
    assert plotted.startswith("segment,mae,own_mae,rows")
    # What monitoring compares live traffic with: recorded with the model, and at promotion.
    profile = model_io.metadata("models/champion")[PROFILE]
    assert set(profile["ranges"]) == set(CONTRACT.numeric) and profile["rows"] > 0
    cities = {f.name: f for f in CONTRACT.features}[USE_CASE.segment].categories
    assert set(champion.baseline["mae_by_segment"]) == set(cities)
    assert champion.baseline["prediction_mean"] > 0
    tag = registry().client.get_model_version(registry().name, "1").tags[BASELINE]
    assert json.loads(tag) == champion.baseline


def test_a_worse_model_becomes_challenger_and_the_champion_stays(workspace, monkeypatch) -> None:
    run_pipeline(monkeypatch)
    worse = run_pipeline(monkeypatch, "model.max_iter=2")
    assert not worse["promoted"] and worse["candidate"]["version"] == "2"
    assert str(registry().alias("challenger").version) == "2"
    assert str(registry().alias("champion").version) == "1"
    assert ChampionRecord.read(Path("models/champion")).model_version == "1"


def test_with_a_tracking_server_its_champion_decides_and_the_commit_carries_it(
    workspace, monkeypatch, empty_mlflow_store, tmp_path_factory
) -> None:
    """The team's store: its @champion is the champion of record, whatever this branch's
    models/champion/ holds, and a losing run leaves that champion's files there."""
    server = tmp_path_factory.mktemp("server") / "mlflow.db"
    shutil.copy(empty_mlflow_store, server)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{server}")
    assert run_pipeline(monkeypatch)["promoted"]
    shutil.rmtree("models/champion")  # a branch that never trained: no champion of its own
    worse = run_pipeline(monkeypatch, "model.max_iter=2")
    assert not worse["promoted"] and worse["champion_before"]["model"] == "version 1"
    assert ChampionRecord.read(Path("models/champion")).model_version == "1"  # fetched
    own_store = mlflow.MlflowClient(f"sqlite:///{workspace / '.mlflow' / 'mlflow.db'}")
    assert own_store.search_registered_models() == []  # every run went to the server
    served = load_served_model(f"models:/{USE_CASE.name}@champion", CONTRACT)
    assert (served.record.model_version, served.uri) == ("1", f"models:/{USE_CASE.name}@champion")
    assert served.record.baseline == ChampionRecord.read(Path("models/champion")).baseline


def test_registering_the_same_run_again_adds_no_version(workspace, monkeypatch) -> None:
    run_pipeline(monkeypatch)
    run_stage("register", monkeypatch)
    again = json.loads(Path("reports/registration.json").read_text())
    assert again["promoted"] and again["candidate"]["version"] == "1"
    assert len(registry().client.search_model_versions(f"name='{registry().name}'")) == 1


def test_the_margin_decides_how_much_better_is_enough(workspace, monkeypatch) -> None:
    run_pipeline(monkeypatch, "model.max_iter=5")  # a weak champion
    held = run_pipeline(monkeypatch, "promotion.min_improvement=0.99")
    assert held["candidate"]["holdout_mae"] < held["champion_before"]["holdout_mae"]
    assert not held["promoted"]
    assert run_pipeline(monkeypatch, "promotion.min_improvement=0.0")["promoted"]


def test_a_champion_of_other_feature_code_is_compared_by_its_recorded_figure(
    workspace, monkeypatch
) -> None:
    """It cannot predict with the new code, but it was trained on the same rows: its holdout
    figure at promotion is the one to beat, not nothing (a trial's finding)."""
    run_pipeline(monkeypatch)
    before = ChampionRecord.read(Path("models/champion"))
    monkeypatch.setenv(project.OVERRIDE, "tests.usecase:RIDE_USE_CASE")
    forget_the_use_case()
    try:
        held = run_pipeline(monkeypatch, "promotion.min_improvement=0.99")
    finally:
        forget_the_use_case()
    assert held["champion_before"]["holdout_mae"] == before.holdout["mae"]
    assert not held["promoted"], held
    assert any("recorded at its promotion" in note for note in held["notes"]), held["notes"]
    assert ChampionRecord.read(Path("models/champion")).run_id == before.run_id


def test_a_queued_experiment_registers_nothing(workspace, monkeypatch, tmp_path_factory) -> None:
    run_pipeline(monkeypatch)
    monkeypatch.setenv("DVC_ROOT", str(tmp_path_factory.mktemp("main-repository")))
    queued = run_pipeline(monkeypatch, "model=ridge")
    assert queued["candidate"]["version"] is None
    assert any("queued experiment" in note for note in queued["notes"])


def test_a_champion_from_another_contract_gives_up_its_place(workspace, monkeypatch) -> None:
    wider = Contract(
        features=(*CONTRACT.features, Feature("tip", "a feature of another branch", float, 0, 9)),
        target=CONTRACT.target,
        key=CONTRACT.key,
        example=CONTRACT.example | {"tip": 1.0},
    )
    rows = wider.samples(300)
    model = build_model(wider, SMALL_MODEL).fit(rows[wider.feature_names], rows[wider.target.name])
    features = rows[wider.feature_names]
    champion = Path("models/champion")
    model_io.save_model(model, champion, model_io.trusted_types(model, "sklearn"), {}, features)
    ChampionRecord.of(str(champion), "other", "9", "run-9", {"mae": 0.1}).write(champion)
    decision = run_pipeline(monkeypatch)
    assert decision["promoted"]
    assert any("'tip'" in note and "another branch" in note for note in decision["notes"])


def test_per_city_models_each_pass_their_own_gate(workspace, monkeypatch, dask_cluster) -> None:
    monkeypatch.setenv(SCHEDULER, dask_cluster)
    per_city = ("segment=per_city", "segment.min_rows=50")
    first = run_pipeline(monkeypatch, *per_city)
    cities = {f.name: f for f in CONTRACT.features}[USE_CASE.segment].categories
    assert set(first["segments"]) == set(cities)
    metrics = json.loads(Path("metrics.json").read_text())["segments"]
    for city, decision in first["segments"].items():
        assert decision["promoted"] and decision["candidate"]["version"] == "1"
        record = ChampionRecord.read(Path("models/champion/segments") / city)
        assert record.model_name == f"{USE_CASE.name}-{city}"
        assert record.serves == (decision["champion_score"] < decision["global_champion_mae"])
        figures = metrics[city]
        assert figures["own_model_wins"] == (figures["own_mae"] < figures["global_mae"])
    # A worse round: every city keeps its champion, the new models become challengers.
    worse = run_pipeline(monkeypatch, *per_city, "model.max_iter=2")
    for city, decision in worse["segments"].items():
        assert not decision["promoted"]
        city_registry = Registry(f"{USE_CASE.name}-{city}")
        assert str(city_registry.alias("champion").version) == "1"
        assert str(city_registry.alias("challenger").version) == "2"
        assert ChampionRecord.read(Path("models/champion/segments") / city).model_version == "1"
    # Back to one model for every row: the served set is the global champion alone.
    run_pipeline(monkeypatch)
    assert not Path("models/champion/segments").exists()


def test_the_unit_of_work_trains_one_segment_as_the_stage_does(
    workspace, monkeypatch, dask_cluster
) -> None:
    monkeypatch.setenv(SCHEDULER, dask_cluster)
    overrides = [f"data.source={SOURCE}", "segment=per_city", "segment.min_rows=50"]
    Path("params.yaml").write_text(compose_params(Path("conf"), overrides))
    for name in ("ingest", "validate", "split", "train"):
        run_stage(name, monkeypatch)
    city = sorted(json.loads(Path("models/trained/run.json").read_text())["segments"])[0]
    monkeypatch.setattr(sys, "argv", ["train_segments", "data/split/train.parquet", "shard", city])
    train_segments.main()
    assert [p.name for p in Path("shard").iterdir()] == [city]
    rows = CONTRACT.samples(50)[CONTRACT.feature_names]
    by_stage = model_io.load_model(f"models/trained/segments/{city}").predict(rows)
    by_command = model_io.load_model(f"shard/{city}").predict(rows)
    assert (by_stage == by_command).all()
