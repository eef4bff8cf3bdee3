"""One model per segment: the segments' rows and names, and the fits fanned out on Dask."""

import os

import pandas as pd
import pytest

from goldenpath.core import segments
from goldenpath.core.fanout import SCHEDULER, fan_out
from goldenpath.core.modeling import fit_model

from .champions import SMALL_MODEL
from .usecase import CONTRACT, USE_CASE


def test_a_segment_value_becomes_a_folder_and_registry_name() -> None:
    assert segments.key("lisbon") == "lisbon"
    assert segments.key("São Paulo / Centro") == "S-o-Paulo-Centro"
    assert segments.key("///") == "segment"  # nothing left: still a name
    assert segments.registered_name("eta", "New York") == "eta-New-York"


def test_only_segments_with_enough_rows_get_a_model_of_their_own(orders) -> None:
    counts = orders[USE_CASE.segment].value_counts()
    enough = int(counts.min()) + 1  # the smallest segment falls short
    groups = segments.groups(orders, USE_CASE.segment, enough)
    assert set(groups) == set(counts[counts >= enough].index)
    assert list(groups) == sorted(groups)
    for value, rows in groups.items():
        assert (rows[USE_CASE.segment] == value).all() and len(rows) == counts[value]
    assert set(segments.groups(orders, USE_CASE.segment, 0)) == set(counts.index)


def fits(tables: list[pd.DataFrame]) -> list:
    return fan_out(fit_model, tables, contract=CONTRACT, model=SMALL_MODEL, log_target=False)


def predictions(models) -> list[list[float]]:
    rows = CONTRACT.samples(20, seed=9)[CONTRACT.feature_names]
    return [model.predict(rows).tolist() for model in models]


def test_fits_on_local_worker_processes_come_back_in_order(orders, monkeypatch, capsys) -> None:
    """The default: a local cluster of worker processes, started for the fits and stopped."""
    monkeypatch.delenv(SCHEDULER, raising=False)
    tables = list(segments.groups(orders, USE_CASE.segment, 0).values())
    fitted = fits(tables)
    workers = min(len(tables), os.cpu_count() or 1)  # one per core, at most one per task
    assert f"3 tasks on a local cluster ({workers} workers)" in capsys.readouterr().out
    alone = [fit_model(table, CONTRACT, SMALL_MODEL, False) for table in tables]
    assert predictions(fitted) == predictions(alone)


def test_fits_go_to_the_cluster_the_scheduler_address_names(
    orders, dask_cluster, monkeypatch, capsys
) -> None:
    monkeypatch.setenv(SCHEDULER, dask_cluster)
    tables = list(segments.groups(orders, USE_CASE.segment, 0).values())[:2]
    fitted = fits(tables)
    assert f"2 tasks on {dask_cluster} (2 workers)" in capsys.readouterr().out
    alone = [fit_model(table, CONTRACT, SMALL_MODEL, False) for table in tables]
    assert predictions(fitted) == predictions(alone)


def test_nothing_to_fit_starts_no_cluster(monkeypatch) -> None:
    monkeypatch.setenv(SCHEDULER, "tcp://127.0.0.1:1")  # would fail, if it were reached
    assert fits([]) == []


@pytest.mark.parametrize("log_target", [False, True])
def test_a_segments_model_is_the_configured_model_on_its_rows(orders, log_target) -> None:
    rows = orders[orders[USE_CASE.segment] == "porto"]
    model = fit_model(rows, CONTRACT, SMALL_MODEL, log_target)
    assert type(model[-1]).__name__ == (
        "TransformedTargetRegressor" if log_target else "HistGradientBoostingRegressor"
    )
    assert model.predict(rows[CONTRACT.feature_names].head(3)).shape == (3,)
