"""Batch scoring: rows checked one by one, predicted as the service predicts, written whole."""

from dataclasses import replace
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from goldenpath.core import project
from goldenpath.core.contract import Feature, InvalidContract
from goldenpath.core.problems import Problem
from goldenpath.core.rows import REASON, check_rows
from goldenpath.io import batches
from goldenpath.jobs.score import ScoringProblem, rejects_path, score
from goldenpath.serving.model import load_served_set

from .conftest import forget_the_use_case
from .usecase import CONTRACT, USE_CASE

KEY = CONTRACT.key
BAD_ROWS = [  # one broken value each (in a row that is otherwise the example), and why
    ({"distance_km": None}, "distance_km is missing"),
    ({"distance_km": "far"}, "distance_km 'far' is not a number"),
    ({"distance_km": 99.0}, "distance_km 99 is outside [0.1, 30]"),
    ({"items": 2.5}, "items 2.5 is not a whole number"),
    ({"city": "paris"}, "city 'paris' is not one of 'lisbon', 'porto', 'madrid'"),
    ({"city": None}, "city is missing"),
    ({KEY: None}, f"{KEY} is missing"),
    ({KEY: -4}, f"{KEY} -4 is not a whole number ≥ 0"),
]


def orders_with_bad_rows(rows: int) -> pd.DataFrame:
    """`rows` good orders, then BAD_ROWS, all as a CSV's text would read; and a column the
    contract does not name."""
    good = CONTRACT.samples(rows, seed=3).drop(columns=CONTRACT.target.name)
    bad = pd.DataFrame(
        [
            {KEY: rows + 1 + i, **CONTRACT.example, **change}
            for i, (change, _) in enumerate(BAD_ROWS)
        ]
    )
    table = pd.concat([good, bad], ignore_index=True).astype(object)
    return table.assign(note="not in the contract")


def test_each_bad_row_is_rejected_with_its_reason_and_the_rest_typed() -> None:
    table = orders_with_bad_rows(50)
    checked = check_rows(CONTRACT, table[[KEY, *CONTRACT.feature_names]])
    assert checked.rejected[REASON].tolist() == [reason for _, reason in BAD_ROWS]
    assert len(checked.scorable) == 50
    expected = CONTRACT.frame(table.head(50).to_dict(orient="records"))
    pd.testing.assert_frame_equal(checked.scorable[CONTRACT.feature_names], expected)
    assert checked.scorable[KEY].dtype == np.int64


def test_every_reason_of_a_row_is_given_and_booleans_are_no_numbers() -> None:
    row = {KEY: 1, **CONTRACT.example, "distance_km": True, "weather": "snow"}
    checked = check_rows(CONTRACT, pd.DataFrame([row]).astype({"distance_km": bool}))
    assert checked.rejected[REASON].tolist() == [
        "distance_km True is not a number; weather 'snow' is not one of 'clear', 'rain'"
    ]


def test_a_bool_feature_takes_true_or_false_in_any_case_and_a_wide_category_names_some() -> None:
    rush = Feature("rush", "At rush hour", bool)
    wide = replace(CONTRACT.features[2], categories=tuple(f"r{i}" for i in range(3000)))
    contract = replace(
        CONTRACT,
        features=(*CONTRACT.features[:2], wide, CONTRACT.features[3], rush),
        example=CONTRACT.example | {"city": "r1", "rush": False},
    )
    rows = [
        {KEY: n, **contract.example, "rush": rush_hour}
        for n, rush_hour in enumerate([True, " FALSE ", "True", 1, "yes", None])
    ]
    rows[0]["city"] = "lisbon"
    checked = check_rows(contract, pd.DataFrame(rows))
    assert checked.scorable["rush"].tolist() == [False, True]
    assert checked.rejected[REASON].tolist() == [
        "city 'lisbon' is not one of 'r0', 'r1', 'r2', 'r3', 'r4', … (3,000 in all: usecase.py)",
        "rush 1 is not true or false",
        "rush 'yes' is not true or false",
        "rush is missing",
    ]


@pytest.fixture
def scored(workspace, model_set, tmp_path):
    """A folder of a CSV and a Parquet table, with bad rows, scored in small batches."""
    champion, own_segment = model_set
    table = orders_with_bad_rows(700)
    folder = tmp_path / "orders"
    folder.mkdir()
    table.iloc[:400].to_csv(folder / "a.csv", index=False)
    table.iloc[400:].astype(str).replace({"None": None, "nan": None}).to_parquet(
        folder / "b.parquet"
    )
    output = tmp_path / "out" / "scores.parquet"
    summary = score(folder, output, str(champion), batch_rows=128)
    return table, output, summary, champion, own_segment


def test_scores_are_the_services_predictions_with_their_model(scored) -> None:
    table, output, summary, champion, own_segment = scored
    scores = pd.read_parquet(output)
    assert scores[KEY].tolist() == list(range(1, 701))  # every good row, in order
    served = load_served_set(str(champion), CONTRACT)
    rows = CONTRACT.frame(table.head(700).to_dict(orient="records"))
    own = (rows[USE_CASE.segment] == own_segment).to_numpy()
    expected = served.main.predictor.predict(rows).round(2)
    expected[own] = served.own[own_segment].predictor.predict(rows[own]).round(2)
    np.testing.assert_array_equal(scores["prediction"].to_numpy(), expected)
    assert set(scores.loc[own, "model_name"]) == {f"{USE_CASE.name}-{own_segment}"}
    assert set(scores.loc[~own, "model_version"]) == {"7"}
    assert f"Scored 700 of {700 + len(BAD_ROWS)} rows" in summary


def test_rejected_rows_keep_their_values_and_reasons(scored) -> None:
    _, output, summary, _, _ = scored
    rejects = pd.read_parquet(rejects_path(output))
    assert rejects[REASON].tolist() == [reason for _, reason in BAD_ROWS]
    assert rejects.loc[1, "distance_km"] == "far" and "note" not in rejects
    assert set(rejects["source_file"]) == {"b.parquet"}  # the bad rows are the last ones
    assert f"Rejected {len(BAD_ROWS)} rows" in summary


def test_the_run_is_recorded_with_its_counts(scored) -> None:
    (run,) = mlflow.search_runs(experiment_names=[USE_CASE.experiment], output_format="list")
    assert run.data.metrics["rows"] == 700 + len(BAD_ROWS)
    assert run.data.metrics["scored"] == 700 and run.data.metrics["rejected"] == len(BAD_ROWS)
    assert run.data.params["model_version"] == "7" and run.data.tags["goldenpath.job"] == "score"


@pytest.fixture
def here(workspace: Path) -> Path:
    """A folder of the job's own in the workspace (whose root holds the project's files)."""
    (workspace / "job").mkdir()
    return workspace / "job"


def test_a_table_without_the_contracts_columns_is_refused_before_anything(model_dir, here) -> None:
    table = here / "orders.parquet"
    CONTRACT.samples(10).drop(columns=["items", "weather"]).to_parquet(table)
    output = here / "scores.parquet"
    with pytest.raises(
        ScoringProblem, match=r"lacks 2 of the contract's columns \(usecase.py\): items, weather\."
    ):
        score(table, output, str(model_dir))
    assert list(here.iterdir()) == [table]


def test_a_table_broken_midway_leaves_no_output(model_dir, here, monkeypatch) -> None:
    monkeypatch.setattr(batches, "CSV_BLOCK_BYTES", 16 << 10)  # many batches before the break
    folder = here / "orders"
    folder.mkdir()
    CONTRACT.samples(300).to_parquet(folder / "a.parquet")
    CONTRACT.samples(4000).to_csv(folder / "b.csv", index=False)  # > batches.HEADER_BYTES
    with (folder / "b.csv").open("a") as table:
        table.write("4001,2\n")  # a row cut short
    output = here / "scores.parquet"
    output.write_bytes(b"an earlier run's")
    with pytest.raises(Problem, match=r"b\.csv could not be read to its end"):
        score(folder, output, str(model_dir), batch_rows=100)
    assert output.read_bytes() == b"an earlier run's"  # untouched: not replaced half-written
    assert sorted(path.name for path in here.iterdir()) == ["orders", "scores.parquet"]


def test_passthrough_columns_reach_each_score_as_they_came(model_dir, here, monkeypatch) -> None:
    monkeypatch.setenv(project.OVERRIDE, "tests.usecase:NOTED_USE_CASE")
    forget_the_use_case()
    orders = CONTRACT.samples(40).drop(columns=CONTRACT.target.name)
    orders = orders.assign(note=[f"call {i}" for i in range(40)], shop_ref=np.arange(40) * 10)
    orders.loc[3, "city"] = "atlantis"  # rejected: its columns with it
    try:
        orders.to_parquet(here / "a.parquet")
        score(here / "a.parquet", here / "scores.parquet", str(model_dir))
        scores = pd.read_parquet(here / "scores.parquet")
        kept = orders.drop(index=3)
        assert scores["note"].tolist() == kept["note"].tolist()
        assert scores["shop_ref"].tolist() == kept["shop_ref"].tolist()  # a number still
        assert pd.read_parquet(rejects_path(here / "scores.parquet"))["note"].tolist() == ["call 3"]
        orders.to_csv(here / "a.csv", index=False)
        score(here / "a.csv", here / "from-csv.parquet", str(model_dir))
        assert pd.read_parquet(here / "from-csv.parquet")["shop_ref"].iloc[0] == "0"  # text
        orders.drop(columns="shop_ref").to_parquet(here / "b.parquet")
        with pytest.raises(ScoringProblem, match=r"lacks 1 of the contract's columns.*: shop_ref"):
            score(here / "b.parquet", here / "b-scores.parquet", str(model_dir))
        mixed = here / "mixed"
        mixed.mkdir()
        orders.to_parquet(mixed / "a.parquet")
        orders.to_csv(mixed / "b.csv", index=False)
        with pytest.raises(ScoringProblem, match=r"b\.csv's passthrough columns are not typed as"):
            score(mixed, here / "mixed.parquet", str(model_dir))  # shop_ref: text, not int64
        assert not (here / "mixed.parquet").exists()
    finally:
        forget_the_use_case()


def test_passthrough_columns_need_names_of_their_own(model_dir, here, monkeypatch) -> None:
    monkeypatch.setenv(project.OVERRIDE, "tests.usecase:CLASHING_USE_CASE")
    forget_the_use_case()
    try:
        orders = CONTRACT.samples(40).drop(columns=CONTRACT.target.name)
        orders.assign(model_version="mine").to_parquet(here / "a.parquet")
        with pytest.raises(ScoringProblem, match=r"passthrough columns \['model_version'\]"):
            score(here / "a.parquet", here / "scores.parquet", str(model_dir))
    finally:
        forget_the_use_case()
    with pytest.raises(InvalidContract, match=r"passthrough \(usecase.py\) is one str: give"):
        replace(CONTRACT, passthrough="customer_ref")


def test_bad_arguments_are_named(workspace, model_dir, tmp_path) -> None:
    with pytest.raises(ScoringProblem, match=r"the scores are written as Parquet"):
        score(tmp_path, tmp_path / "scores.csv", str(model_dir))
    with pytest.raises(Problem, match=r"does not exist: name a \.csv or \.parquet file"):
        score(tmp_path / "nowhere.csv", tmp_path / "scores.parquet", str(model_dir))
    with pytest.raises(Problem, match=r"--batch-rows 0: give a positive number"):
        score(tmp_path, tmp_path / "scores.parquet", str(model_dir), batch_rows=0)
    with pytest.raises(Problem, match=r"is inside INPUT=.*: the next run would read the scores"):
        score(tmp_path, tmp_path / "out" / "scores.parquet", str(model_dir))
