"""Real-world features, from the contract to the monitor: missing values, ids, times.

The classifications' use case (usecase.py) has one nullable feature of each kind (a
number, a category and a bool), a restaurant id of 2,000 values, high_cardinality, and
the time of the order, whose hour and weekday the model takes.
A missing value is NaN or None in a table, null or left out in a request; an id is any
text, target-encoded, a value training never saw taken as any other. The model learns
from both, every path predicts them alike, and the monitor judges each as it should.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from goldenpath import Feature, UseCase
from goldenpath.core import model_io
from goldenpath.core.champion import ChampionRecord
from goldenpath.core.contract import Contract, ContractViolation, InvalidContract
from goldenpath.core.feature import MAX_TEXT
from goldenpath.core.modeling import build_model, known_values, unseen_refused
from goldenpath.core.params import ModelParams
from goldenpath.core.reference import training_profile
from goldenpath.core.rows import REASON, check_rows
from goldenpath.monitoring import checks
from goldenpath.monitoring.log import Entry
from goldenpath.monitoring.metrics import REGISTRY, PredictionMetrics
from goldenpath.monitoring.store import PREDICTION, FolderStore
from goldenpath.serving.app import create_app
from goldenpath.serving.endpoint import UnseenValues, unseen_check
from goldenpath.serving.predictor import TOLERANCE, lean_predictor

from .test_monitoring import SETTINGS
from .usecase import LATE_USE_CASE, RESTAURANT

CONTRACT = LATE_USE_CASE.contract
NULLABLE = [feature.name for feature in CONTRACT.features if feature.nullable]
FAMILIES = {  # native missing values, or imputed; trees or scaled numbers
    "histogram boosting": "sklearn.ensemble.HistGradientBoostingClassifier",
    "random forest": "sklearn.ensemble.RandomForestClassifier",
    "gradient boosting": "sklearn.ensemble.GradientBoostingClassifier",
    "logistic regression": "sklearn.linear_model.LogisticRegression",
}


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return CONTRACT.validate(LATE_USE_CASE.example_data(3000, 5), "the orders")


def test_a_nullable_feature_is_null_or_left_out_in_a_request_and_nothing_else_is() -> None:
    example = dict(CONTRACT.example)
    left_out = CONTRACT.request_model(**{k: v for k, v in example.items() if k != "vehicle"})
    assert left_out.vehicle is None
    assert CONTRACT.request_model(**example | {"prep_minutes": None}).prep_minutes is None
    with pytest.raises(ValidationError, match="prep_minutes"):
        CONTRACT.request_model(**example | {"prep_minutes": float("nan")})
    with pytest.raises(ValidationError, match="distance_km"):
        CONTRACT.request_model(**example | {"distance_km": None})
    assert CONTRACT.required == [n for n in CONTRACT.feature_names if n not in NULLABLE]
    schema = CONTRACT.request_model.model_json_schema()
    assert schema["required"] == CONTRACT.required
    assert schema["properties"]["prep_minutes"]["anyOf"] == [
        {"type": "number", "minimum": 0, "maximum": 40},
        {"type": "null"},
    ]


def test_a_table_spells_missing_as_it_likes_and_the_model_gets_one_none() -> None:
    table = CONTRACT.samples(6).assign(
        vehicle=["car", np.nan, None, "bike", pd.NA, "car"],
        gift=[True, None, np.nan, "false", False, True],
        prep_minutes=[1.5, None, np.nan, 3.0, 4.0, 5.0],
    )
    validated = CONTRACT.validate(table, "orders.csv")
    assert validated["vehicle"].tolist() == ["car", None, None, "bike", None, "car"]
    assert validated["gift"].tolist() == [True, None, None, False, False, True]
    assert validated["prep_minutes"].isna().tolist() == [False, True, True, False, False, False]
    with pytest.raises(ContractViolation, match="'distance_km' fails not_nullable"):
        CONTRACT.validate(table.assign(distance_km=np.nan), "orders.csv")


def test_a_nullable_integer_is_a_whole_number_where_it_is_given() -> None:
    visits = Feature("visits", "Earlier orders", int, 0, 50, nullable=True)
    contract = Contract((*CONTRACT.features, visits), CONTRACT.target, CONTRACT.key,
                        CONTRACT.example | {"visits": None}, "binary")  # fmt: skip
    table = contract.samples(20)
    assert contract.validate(table, "t")["visits"].dtype == np.float64  # NaN where missing
    table.loc[3, "visits"] = 2.5
    with pytest.raises(ContractViolation, match=r"'visits' fails a whole number: 1 rows"):
        contract.validate(table, "orders.csv")
    with pytest.raises(ValidationError, match="visits"):
        contract.request_model(**contract.example | {"visits": 2.5})


def test_the_target_and_the_segment_are_never_missing() -> None:
    late = Feature("late", "", str, categories=("no", "yes"), nullable=True)
    with pytest.raises(InvalidContract, match=r"'late' .* is nullable: a row without an outcome"):
        Contract(CONTRACT.features, late, CONTRACT.key, CONTRACT.example, "binary")
    with pytest.raises(InvalidContract, match=r"segment 'vehicle' is not a str feature .* every"):
        UseCase("m", "m", CONTRACT, "vehicle")


@pytest.mark.parametrize("family", FAMILIES, ids=list(FAMILIES))
def test_each_family_learns_from_missing_values_and_every_path_predicts_them_alike(
    family, rows
) -> None:
    params = ModelParams.model_validate({"_target_": FAMILIES[family]})
    model = build_model(CONTRACT, params).fit(rows[CONTRACT.feature_names], rows["late"])
    parts = [name for name, _, _ in model[0].transformers]
    imputes = family in ("gradient boosting", "logistic regression")  # no allow_nan tag
    assert parts == ["categorical", "numeric", *["imputed"] * imputes, "calendar", "target_encoded"]
    predictor = lean_predictor(model, CONTRACT)
    trees = family != "logistic regression"
    assert predictor.how == ("compiled" if trees else "lean"), predictor.reason
    requests = CONTRACT.requests(rows.head(400))
    assert any(row["vehicle"] is None for row in requests)
    expected = model.predict_proba(rows[CONTRACT.feature_names].head(400))
    np.testing.assert_allclose(predictor.predict(requests), expected, rtol=0, atol=TOLERANCE)
    # A missing value is learnt, not a placeholder: the same order says more with it known.
    order = CONTRACT.example | {"prep_minutes": None}
    unknown, known = predictor.predict([order, order | {"prep_minutes": 39.0}])[:, 1]
    assert unknown != known


def test_batch_scoring_takes_a_missing_value_only_where_the_contract_does() -> None:
    batch = CONTRACT.samples(4).drop(columns="late")
    batch.loc[0, "prep_minutes"], batch.loc[1, "vehicle"] = np.nan, np.nan  # a CSV's empty cells
    batch.loc[2, "gift"], batch.loc[3, "distance_km"] = None, np.nan
    checked = check_rows(CONTRACT, batch)
    assert len(checked.scorable) == 3
    assert checked.rejected[REASON].tolist() == ["distance_km is missing"]
    assert checked.scorable["vehicle"].tolist()[1] is None
    assert checked.scorable["prep_minutes"].dtype == np.float64


def test_a_missing_value_is_not_outside_the_training_profile() -> None:
    trained_on = CONTRACT.samples(500, seed=1)
    profile = training_profile(trained_on, CONTRACT)
    assert set(profile["missing"]) == set(NULLABLE)
    assert all(0.05 < share < 0.15 for share in profile["missing"].values())  # one in ten
    assert "None" not in profile["categories"]["vehicle"]
    assert "restaurant" not in profile["categories"]  # its thousands: judged by make monitor
    record = ChampionRecord("m", "9", "run", {"log_loss": 0.3}, "c", "false", "d", "")
    metrics = PredictionMetrics(LATE_USE_CASE, [record], profile)
    orders = [CONTRACT.request_model(**CONTRACT.example).model_dump()] * 3
    counted = "prediction_input_out_of_range_total"
    before = {name: REGISTRY.get_sample_value(counted, {"feature": name}) or 0 for name in NULLABLE}
    metrics.observe([Entry(datetime.now(UTC), orders, [(0.2, "m/9")] * 3)])
    after = {name: REGISTRY.get_sample_value(counted, {"feature": name}) or 0 for name in NULLABLE}
    assert after == before


def test_a_window_missing_a_feature_more_often_than_training_fails_the_monitor(rows) -> None:
    params = ModelParams.model_validate({"_target_": FAMILIES["histogram boosting"]})
    model = build_model(CONTRACT, params).fit(rows[CONTRACT.feature_names], rows["late"])

    def scored(table: pd.DataFrame) -> pd.DataFrame:
        probability = model.predict_proba(table[CONTRACT.feature_names])[:, 1]
        return table.assign(**{PREDICTION: probability})

    reference = scored(rows)
    cities = {city: 0.2 for city in ("lisbon", "porto", "madrid")}
    baseline = {"prediction_mean": 0.5, "prediction_std": 0.3, "log_loss_by_segment": cities}
    record = ChampionRecord("m", "1", "r", {"log_loss": 0.2}, "c", "f", "d", "", baseline=baseline)
    week = LATE_USE_CASE.example_data(2000, 6)
    _, calm = checks.evaluate(scored(week), reference, record, LATE_USE_CASE, SETTINGS)
    assert not [f for f in calm["failed"] if f["check"] == "missing"], calm["failed"]
    week["vehicle"] = None  # the courier app stopped sending it
    _, found = checks.evaluate(scored(week), reference, record, LATE_USE_CASE, SETTINGS)
    missing = [f for f in found["failed"] if f["check"] == "missing"]
    assert [f["column"] for f in missing] == ["vehicle"] and found["alarm"]
    assert missing[0]["value"]["share"] == 1.0


def test_an_id_is_declared_high_cardinality_and_a_str_without_categories_is_told_so() -> None:
    with pytest.raises(InvalidContract, match=r"give high_cardinality=True"):
        Feature("restaurant", "", str)
    with pytest.raises(InvalidContract, match="make it a str without categories"):
        Feature("restaurant", "", int, 0, 9, high_cardinality=True)
    features = tuple(f for f in CONTRACT.features if f.name != "restaurant")
    example = {k: v for k, v in CONTRACT.example.items() if k != "restaurant"}
    with pytest.raises(InvalidContract, match=r"'restaurant' .* is high_cardinality: a class"):
        Contract(features, RESTAURANT, "id", example, "binary")
    with pytest.raises(InvalidContract, match=r"segment 'restaurant' .* not high_cardinality"):
        UseCase("m", "m", CONTRACT, "restaurant")


def test_an_id_is_any_text_in_a_request_and_a_table_but_not_a_number_or_a_novel() -> None:
    assert CONTRACT.request_model(**CONTRACT.example | {"restaurant": "new-9"}).restaurant
    for wrong in (17, "", "x" * (MAX_TEXT + 1)):
        with pytest.raises(ValidationError, match="restaurant"):
            CONTRACT.request_model(**CONTRACT.example | {"restaurant": wrong})
    schema = CONTRACT.request_model.model_json_schema()["properties"]["restaurant"]
    assert (schema["type"], schema["maxLength"]) == ("string", MAX_TEXT) and "enum" not in schema
    table = CONTRACT.samples(3).assign(restaurant=[17, "r2", "x" * (MAX_TEXT + 1)])
    with pytest.raises(ContractViolation, match="'restaurant' fails str_length"):
        CONTRACT.validate(table, "orders.csv")
    checked = check_rows(CONTRACT, table.drop(columns="late"))
    assert checked.scorable["restaurant"].tolist() == ["17", "r2"]  # a CSV's 17 is the id "17"
    # A column of ids with a gap reads as floats: 17.0 is still the id "17", as a request has it.
    gaps = CONTRACT.samples(3).assign(restaurant=[17.0, np.nan, 18.0])
    assert CONTRACT.validate(gaps.assign(restaurant=[17.0, 19.0, 18.0]), "t")[
        "restaurant"
    ].tolist() == ["17", "19", "18"]
    assert check_rows(CONTRACT, gaps.drop(columns="late")).scorable["restaurant"].tolist() == [
        "17",
        "18",
    ]
    assert checked.rejected[REASON].tolist() == ["restaurant is longer than 200 characters"]


@pytest.mark.parametrize("family", FAMILIES, ids=list(FAMILIES))
def test_an_id_is_learnt_and_an_unseen_one_is_any_other(family, rows) -> None:
    params = ModelParams.model_validate({"_target_": FAMILIES[family]})
    model = build_model(CONTRACT, params).fit(rows[CONTRACT.feature_names], rows["late"])
    encoder = dict((name, step) for name, step, _ in model[0].transformers_)["target_encoded"]
    codes = encoder.transform(pd.DataFrame({"restaurant": ["r3", "r1", "never-seen"]}))
    assert codes[0, 0] != codes[1, 0]  # restaurant 3's slow kitchen is learnt
    predictor = lean_predictor(model, CONTRACT)
    order = CONTRACT.example | {"restaurant": "never-seen"}
    expected = model.predict_proba(CONTRACT.frame([order]))
    np.testing.assert_allclose(predictor.predict([order]), expected, rtol=0, atol=TOLERANCE)


def test_an_unseen_id_is_refused_where_the_contract_says_so(rows, tmp_path) -> None:
    """unseen="refuse": a value the model never saw is a 422 naming the field, and a reject
    in batch scoring; one it saw is served as ever."""
    with pytest.raises(InvalidContract, match=r"unseen='refuse': a str of high_cardinality"):
        Feature("city", "", str, categories=("a", "b"), unseen="refuse")
    with pytest.raises(InvalidContract, match=r"unseen='drop'.*\['other', 'refuse'\]"):
        Feature("restaurant", "", str, high_cardinality=True, unseen="drop")
    strict = replace(RESTAURANT, unseen="refuse")
    contract = replace(CONTRACT, features=tuple(
        strict if f.name == "restaurant" else f for f in CONTRACT.features))  # fmt: skip
    params = ModelParams.model_validate({"_target_": FAMILIES["histogram boosting"]})
    model = build_model(contract, params).fit(rows[contract.feature_names], rows["late"])
    assert unseen_refused(contract, model)["restaurant"] == set(rows["restaurant"])
    folder = tmp_path / "model"
    trusted = model_io.trusted_types(model, "sklearn")
    model_io.save_model(model, folder, trusted, {}, rows[contract.feature_names])
    case = replace(LATE_USE_CASE, contract=contract)
    seen, unseen = dict(contract.example), dict(contract.example) | {"restaurant": "never-seen"}
    with TestClient(create_app(str(folder), case)) as client:
        assert client.post("/predict", json=seen).status_code == 200
        one = client.post("/predict", json=unseen)
        assert one.status_code == 422 and one.json()["detail"][0]["loc"] == ["body", "restaurant"]
        assert "never saw in training" in one.json()["detail"][0]["msg"]
        many = client.post("/predict", json=[seen, unseen, unseen])
        assert [e["loc"] for e in many.json()["detail"]] == [
            ["body", i, "restaurant"] for i in (1, 2)
        ]
        described = client.get("/openapi.json").json()["components"]["schemas"]["Order"]
        assert (
            "never saw in training is refused"
            in described["properties"]["restaurant"]["description"]
        )
    table = rows.head(3).assign(restaurant=[rows["restaurant"].iloc[0], "never-seen", None])
    checked = check_rows(contract, table.drop(columns="late"), known_values(contract, model))
    assert checked.scorable["order_id"].tolist() == table["order_id"].iloc[[0]].tolist()
    assert checked.rejected[REASON].tolist()[0] == (
        "restaurant 'never-seen' is a value the model never saw in training (unseen='refuse')"
    )
    # A segment's own model takes only what it learnt, on its segment's rows.
    porto = rows[rows["city"] == "porto"]
    own = build_model(contract, params).fit(porto[contract.feature_names], porto["late"])
    elsewhere = next(r for r in rows["restaurant"] if r not in set(porto["restaurant"]))
    table = rows[rows["city"].isin(["porto", "lisbon"])].drop_duplicates("city").head(2)
    table = table.assign(restaurant=elsewhere).drop(columns="late")
    known = known_values(contract, model, "city", {"porto": own})
    checked = check_rows(contract, table, known)
    assert checked.scorable["city"].tolist() == ["lisbon"]  # the global model saw it
    assert checked.rejected["city"].tolist() == ["porto"]
    check = unseen_check(known)
    with pytest.raises(UnseenValues):
        check([dict(contract.example) | {"city": "porto", "restaurant": elsewhere}])
    check([dict(contract.example) | {"city": "lisbon", "restaurant": elsewhere}])


def test_new_ids_in_the_usual_measure_raise_no_alarm_and_a_wave_of_them_does(rows) -> None:
    params = ModelParams.model_validate({"_target_": FAMILIES["histogram boosting"]})
    model = build_model(CONTRACT, params).fit(rows[CONTRACT.feature_names], rows["late"])
    reference = rows.assign(**{PREDICTION: model.predict_proba(rows[CONTRACT.feature_names])[:, 1]})
    cities = {city: 0.2 for city in ("lisbon", "porto", "madrid")}
    baseline = {"prediction_mean": 0.5, "prediction_std": 0.3, "log_loss_by_segment": cities}
    record = ChampionRecord("m", "1", "r", {"log_loss": 0.2}, "c", "f", "d", "", baseline=baseline)

    def judged(week: pd.DataFrame) -> list[dict]:
        week = week.assign(**{PREDICTION: model.predict_proba(week[CONTRACT.feature_names])[:, 1]})
        snapshot, found = checks.evaluate(week, reference, record, LATE_USE_CASE, SETTINGS)
        tested = [test["metric_config"]["params"] for test in snapshot.dict()["tests"]]
        kinds = {params["type"] for params in tested if params.get("column") == "restaurant"}
        assert kinds == {"evidently:metric_v2:OutListValueCount"}  # no drift test of it
        return [f for f in found["failed"] if f["column"] == "restaurant"]

    week = LATE_USE_CASE.example_data(3000, 8)
    new = (~week["restaurant"].isin(set(rows["restaurant"]))).mean()
    assert new > 0.05  # many ids are new in any week: the long tail
    assert judged(week) == []
    opened = week.assign(
        restaurant=np.where(np.arange(3000) % 3 == 0, "opened-today", week["restaurant"])
    )
    [failed] = judged(opened)
    assert failed["check"] == "range" and failed["value"]["share"] > new + 0.25


def test_a_time_is_declared_with_the_calendar_parts_the_model_takes() -> None:
    assert Feature("at", "", datetime).calendar == ("hour", "weekday", "month")
    with pytest.raises(InvalidContract, match=r"calendar parts \['fortnight'\]: give parts of"):
        Feature("at", "", datetime, calendar=("hour", "fortnight"))
    with pytest.raises(InvalidContract, match="is a datetime: give it no bounds"):
        Feature("at", "", datetime, 0, 1)
    with pytest.raises(InvalidContract, match="has calendar parts: only a datetime has them"):
        Feature("hour", "", int, 0, 23, calendar=("hour",))
    with pytest.raises(InvalidContract, match=r"is a datetime: predict a number"):
        Contract(CONTRACT.features, Feature("due", "", datetime), "id", CONTRACT.example)


def test_a_time_is_iso_text_in_a_request_and_a_table_one_with_an_offset_in_utc() -> None:
    example = dict(CONTRACT.example)
    taken = CONTRACT.request_model(**example | {"ordered_at": "2026-03-06T20:15:00+01:00"})
    assert taken.ordered_at == datetime(2026, 3, 6, 19, 15)  # UTC, without an offset
    beyond = ("0001-01-01T00:00:00+01:00", "9999-12-31T23:30:00-01:00")  # past the calendar
    for wrong in ("yesterday", 1_772_000_000, None, *beyond):
        with pytest.raises(ValidationError, match="ordered_at"):
            CONTRACT.request_model(**example | {"ordered_at": wrong})
    schema = CONTRACT.request_model.model_json_schema()["properties"]["ordered_at"]
    assert (schema["type"], schema["format"]) == ("string", "date-time")
    table = CONTRACT.samples(3).assign(
        ordered_at=["2026-03-06T20:15:00", "2026-03-06 21:00:00+01:00", "2026-03-07T08:00Z"]
    )
    times = CONTRACT.validate(table, "orders.csv")["ordered_at"]
    assert times.tolist() == [
        datetime(2026, 3, 6, 20, 15),
        datetime(2026, 3, 6, 20),
        datetime(2026, 3, 7, 8),
    ]
    with pytest.raises(ContractViolation, match=r"'ordered_at' fails a timestamp .*'13/03/2026'"):
        CONTRACT.validate(table.assign(ordered_at=["13/03/2026"] * 3), "orders.csv")
    checked = check_rows(
        CONTRACT, table.drop(columns="late").assign(ordered_at=["tomorrow", *times[1:]])
    )
    assert checked.rejected[REASON].str.startswith("ordered_at 'tomorrow' is not a time").all()
    assert checked.scorable["ordered_at"].tolist() == times[1:].tolist()


def test_the_model_takes_a_times_calendar_parts_and_every_path_reads_them_alike(rows) -> None:
    for family in ("histogram boosting", "logistic regression"):
        params = ModelParams.model_validate({"_target_": FAMILIES[family]})
        model = build_model(CONTRACT, params).fit(rows[CONTRACT.feature_names], rows["late"])
        predictor = lean_predictor(model, CONTRACT)
        assert predictor.how in ("compiled", "lean"), predictor.reason
        orders = [  # as the service hands them over: validated, a time a datetime
            CONTRACT.request_model(**CONTRACT.example | {"ordered_at": at}).model_dump()
            for at in ("2026-03-06T20:30:00", "2026-03-06T08:30:00")
        ]
        served = predictor.predict(orders)
        expected = model.predict_proba(CONTRACT.frame(orders))
        np.testing.assert_allclose(served, expected, rtol=0, atol=TOLERANCE)
        assert served[0, 1] > served[1, 1], family  # dinner time is later: learnt from the hour


def test_the_log_keeps_a_time_as_text_and_gives_it_back_as_a_time(tmp_path) -> None:
    store = FolderStore(CONTRACT, tmp_path)
    order = CONTRACT.request_model(**CONTRACT.example).model_dump() | {"order_id": 5}
    now = datetime.now(UTC)
    store.write([Entry(now, [order], [(0.3, "m/1")])])
    logged = store.predictions(now - timedelta(minutes=1), now + timedelta(minutes=1))
    assert logged["ordered_at"].tolist() == [datetime(2026, 3, 6, 20, 15)]
