"""The pipeline's stages one at a time: what each refuses, and what it reads and writes.

Run in-process in a workspace of their own (conftest.py, `workspace`), as dvc.yaml runs them
(pipeline.py). The whole pipeline, round after round, is test_pipeline.py's.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from goldenpath import summary
from goldenpath.core.contract import ContractViolation
from goldenpath.core.params import SyntheticData, compose_params
from goldenpath.core.problems import Problem
from goldenpath.core.stages import RUNTIME_FILE, fingerprints
from goldenpath.io.sources import SourceProblem, load_source
from goldenpath.jobs import compose, train_segments

from .pipeline import SOURCE, registry, run_pipeline, run_stage
from .pipeline import compose as compose_params_yaml
from .usecase import CONTRACT, USE_CASE, generate_orders


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


def test_compose_writes_what_computes_each_stage_for_the_configured_model(
    workspace, monkeypatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["compose"])
    compose.main()
    written = yaml.safe_load(RUNTIME_FILE.read_text())
    assert written == fingerprints("sklearn")
    Path("conf/model/hist_gradient_boosting.yaml").write_text(
        Path("conf/model/lightgbm.yaml").read_text()
    )  # the default model is now LightGBM: its version shapes the model's stages
    compose.main()
    assert "lightgbm" in yaml.safe_load(RUNTIME_FILE.read_text())["train"]


def test_a_typo_in_conf_stops_compose_before_anything_is_written(workspace, monkeypatch) -> None:
    conf = Path("conf/model/hist_gradient_boosting.yaml")
    conf.write_text(conf.read_text() + "learning_rat: 0.1\n")
    monkeypatch.setattr(sys, "argv", ["compose"])
    with pytest.raises(Problem, match=r"model\.learning_rat: "):
        compose.main()
    assert not Path("params.yaml").exists() and not RUNTIME_FILE.exists()


def test_the_example_generator_is_the_synthetic_source(workspace, monkeypatch) -> None:
    Path("params.yaml").write_text(compose_params(Path("conf")))  # data.source: synthetic
    run_stage("ingest", monkeypatch)
    pd.testing.assert_frame_equal(
        pd.read_parquet("data/raw/table.parquet"), generate_orders(800, 42), check_dtype=False
    )


def test_a_sample_is_seeded_and_a_use_case_without_a_generator_has_no_synthetic_source():
    generated = yaml.safe_load(compose_params(Path("conf")))["data"]["synthetic"]
    settings = SyntheticData.model_validate(generated)
    sample = load_source("synthetic", settings, 100, 5, USE_CASE.example_data)
    again = load_source("synthetic", settings, 100, 5, USE_CASE.example_data)
    assert len(sample) == 100 and sample.equals(again)
    assert list(sample.index) == list(range(100))
    with pytest.raises(SourceProblem, match="has no example_data generator"):
        load_source("synthetic", settings, None, 5, None)


def test_broken_data_stops_at_validate(workspace, monkeypatch) -> None:
    compose_params_yaml()
    run_stage("ingest", monkeypatch)
    broken = CONTRACT.samples(20).assign(**{CONTRACT.feature_names[0]: -1e6})
    broken.to_parquet("data/raw/table.parquet")
    named = r"^the table ingested from data/external/orders.parquet \(data/raw/table.parquet\)"
    with pytest.raises(ContractViolation, match=named):  # the team's file, by its own name
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


def test_an_imported_url_is_read_from_its_copy_under_data_external(workspace, monkeypatch):
    url = "https://example.com/orders.parquet"
    Path("data/external/orders.parquet.dvc").write_text(
        yaml.safe_dump({"deps": [{"path": url}], "outs": [{"path": "orders.parquet"}]})
    )  # what `dvc import-url` writes next to the copy
    Path("params.yaml").write_text(compose_params(Path("conf"), [f"data.source={url}"]))
    run_stage("ingest", monkeypatch)
    assert pd.read_parquet("data/raw/table.parquet").equals(pd.read_parquet(SOURCE))


def test_a_dry_run_shows_the_verdict_and_registers_nothing(workspace, monkeypatch) -> None:
    monkeypatch.setenv("PROMOTION_DRY_RUN", "1")
    decision = run_pipeline(monkeypatch)
    assert decision["promoted"] and decision["candidate"]["version"] is None
    assert any("a dry run" in note for note in decision["notes"])
    assert not registry().client.search_model_versions(f"name='{USE_CASE.name}'")


def test_the_summary_names_the_champion_and_what_comes_next(workspace, monkeypatch, capsys):
    with pytest.raises(SystemExit, match="No champion yet: `make repro`"):
        summary.main()
    run_pipeline(monkeypatch)
    capsys.readouterr()
    summary.main()
    printed = capsys.readouterr().out
    assert f"Champion: {USE_CASE.name} version 1, from the latest run." in printed
    mae = json.loads(Path("metrics.json").read_text())["holdout"]["mae"]
    assert f"Holdout MAE: {mae:.2f}" in printed
    # A reader that stops early (`make summary | head -3`, here one that reads nothing).
    runtime = Path(__file__).parents[1]  # where tests.usecase is found
    piped = subprocess.run(
        f"{sys.executable} -m goldenpath.summary | true",
        shell=True, capture_output=True, text=True, env=os.environ | {"PYTHONPATH": str(runtime)},
    )  # fmt: skip
    assert piped.stderr == "", piped.stderr  # no BrokenPipeError


def test_the_unit_of_work_refuses_a_segment_it_cannot_train(workspace, monkeypatch) -> None:
    compose_params_yaml("segment=per_city", "segment.min_rows=50")
    for name in ("ingest", "validate", "split"):
        run_stage(name, monkeypatch)
    argv = ["train_segments", "data/split/train.parquet", "shard", "atlantis"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(Problem, match=r"no segment \['atlantis'\] with 50 rows or more; there "):
        train_segments.main()
    assert not Path("shard").exists()
