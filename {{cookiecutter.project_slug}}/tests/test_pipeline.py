"""Every stage of dvc.yaml, run in-process in a scratch workspace with its own MLflow store.

The data is drawn from the contract (data/external/, as your own table would be),
so the pipeline is tested without the example generator.
"""

import json
import shlex
import shutil
import sys
from pathlib import Path

import mlflow
import pytest
import yaml

from {{ cookiecutter.package_name }}.core import model_io
from {{ cookiecutter.package_name }}.core.champion import ChampionRecord
from {{ cookiecutter.package_name }}.core.contract import Contract, Feature
from {{ cookiecutter.package_name }}.core.modeling import build_model
from {{ cookiecutter.package_name }}.core.params import compose_params
from {{ cookiecutter.package_name }}.core.reference import PROFILE
from {{ cookiecutter.package_name }}.core.registry import BASELINE, Registry
from {{ cookiecutter.package_name }}.io.sources import SourceProblem
from {{ cookiecutter.package_name }}.jobs import compose, train_segments
from {{ cookiecutter.package_name }}.usecase import USE_CASE

from .conftest import CONTRACT, PROJECT, SMALL_MODEL

STAGES = yaml.safe_load((PROJECT / "dvc.yaml").read_text())["stages"]
SOURCE = "data/external/orders.parquet"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(PROJECT / "conf", tmp_path / "conf")
    (tmp_path / "data" / "external").mkdir(parents=True)
    CONTRACT.samples(800, seed=1).to_parquet(tmp_path / SOURCE)
    monkeypatch.chdir(tmp_path)
    for variable in ("MLFLOW_TRACKING_URI", "DVC_EXP_NAME"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    return tmp_path


def run_stage(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stage's command from dvc.yaml, run in this process."""
    _, _, module, *args = shlex.split(STAGES[name]["cmd"])
    for out in STAGES[name].get("outs", []):  # as DVC removes outputs before a stage
        path, options = (out, {}) if isinstance(out, str) else next(iter(out.items()))
        if not options.get("persist"):
            shutil.rmtree(path, ignore_errors=True)
            Path(path).unlink(missing_ok=True)
    monkeypatch.setattr(sys, "argv", [module, *args])
    job = __import__(module, fromlist=["main"])
    job.main()


def run_pipeline(monkeypatch: pytest.MonkeyPatch, *overrides: str) -> dict:
    overrides = (f"data.source={SOURCE}", *overrides)
    Path("params.yaml").write_text(compose_params(Path("conf"), overrides))
    for name in STAGES:
        if name != "compose":
            run_stage(name, monkeypatch)
    return json.loads(Path("reports/registration.json").read_text())


def registry() -> Registry:
    return Registry(ChampionRecord.read(Path("models/champion")).model_name)


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
    ChampionRecord.of(str(champion), "other", "9", "run-9", 0.1).write(champion)
    decision = run_pipeline(monkeypatch)
    assert decision["promoted"]
    assert any("'tip'" in note and "another branch" in note for note in decision["notes"])


def test_compose_writes_params_unless_dvc_exp_run_did(workspace, monkeypatch) -> None:
    monkeypatch.setattr(sys, "argv", ["compose"])
    compose.main()
    assert Path("params.yaml").read_text() == compose_params(Path("conf"))
    Path("params.yaml").write_text(compose_params(Path("conf"), ["model=ridge"]))
    monkeypatch.setattr(sys, "argv", ["compose", "--check"])
    with pytest.raises(compose.Drift, match=r"model\._target_"):
        compose.main()
    monkeypatch.setenv("DVC_EXP_NAME", "exp-1")
    monkeypatch.setattr(sys, "argv", ["compose"])
    compose.main()
    assert "Ridge" in Path("params.yaml").read_text()


def test_broken_data_stops_at_validate(workspace, monkeypatch) -> None:
    Path("params.yaml").write_text(compose_params(Path("conf"), [f"data.source={SOURCE}"]))
    run_stage("ingest", monkeypatch)
    broken = CONTRACT.samples(20).assign(**{CONTRACT.feature_names[0]: -1e6})
    broken.to_parquet("data/raw/table.parquet")
    with pytest.raises(Exception, match="breaks the data contract"):
        run_stage("validate", monkeypatch)
    assert not Path("data/validated/table.parquet").exists()


@pytest.mark.parametrize(
    ("source", "advice"),
    [
        ("elsewhere/orders.csv", "not under data/external/"),
        ("data/external/missing.parquet", "does not exist"),
        ("https://example.com/orders.parquet", "dvc import-url https://example.com/orders.parquet"),
    ],
)
def test_a_source_dvc_cannot_track_is_refused_with_advice(
    source, advice, workspace, monkeypatch
) -> None:
    Path("params.yaml").write_text(compose_params(Path("conf"), [f"data.source={source}"]))
    with pytest.raises(SourceProblem, match=advice):
        run_stage("ingest", monkeypatch)


def test_per_city_models_each_pass_their_own_gate(workspace, monkeypatch) -> None:
    per_city = ("segment=per_city", "segment.min_rows=50")
    first = run_pipeline(monkeypatch, *per_city)
    cities = {f.name: f for f in CONTRACT.features}[USE_CASE.segment].categories
    assert set(first["segments"]) == set(cities)
    metrics = json.loads(Path("metrics.json").read_text())["segments"]
    for city, decision in first["segments"].items():
        assert decision["promoted"] and decision["candidate"]["version"] == "1"
        record = ChampionRecord.read(Path("models/champion/segments") / city)
        assert record.model_name == f"{USE_CASE.name}-{city}"
        assert record.serves == (decision["champion_mae"] < decision["global_champion_mae"])
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


def test_the_unit_of_work_trains_one_segment_as_the_stage_does(workspace, monkeypatch) -> None:
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
