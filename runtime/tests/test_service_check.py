"""The service check (ops/service_check.py) and its section of the metrics report.

The report's section is formatted from two results, as `make service-check` writes
them; the check itself runs here for real on a small champion, with a prediction log
that has no training data to compare with (the template's tests judge real weeks).
"""

import json
import shutil
from pathlib import Path

import pytest

from goldenpath.ops import metrics_report, service_check

from .conftest import PROJECT
from .usecase import CONTRACT

RUNTIME = Path(__file__).parents[1]


def result(answer: float, version: str = "1", **weeks: str) -> dict:
    """A result as service_check.check() makes it: `weeks` name -> its verdict's line."""
    return {
        "format": service_check.FORMAT,
        "answered": True,
        "problem": None,
        "target": "delivery_minutes",
        "example": {"request": dict(CONTRACT.example), "answer": answer, "model": f"m/{version}"},
        "samples": {"requests": [{}] * 5, "status": 200, "answers": [1.0] * 5, "models": []},
        "model_version": version,
        "models": [f"m/{version}", f"m-porto/{version}"],
        "version": {"model_name": "m", "holdout_mae": 2.5, "prediction_path": "compiled"},
        "weeks": {
            name: {
                "orders": 1500,
                "answered": 1500,
                "verdict": "not judged" if line.startswith("not") else line.split()[0].strip(":"),
                "line": line,
            }
            for name, line in weeks.items()
        },
    }


def rows(lines: list[str]) -> dict[str, list[str]]:
    """The section's table: row name -> its cells (base, head)."""
    cells = [line.strip("|").split(" | ") for line in lines if line.startswith("| ")]
    return {name.strip(): [cell.strip() for cell in rest] for name, *rest in cells[2:]}


def test_the_section_shows_both_sides_answers_models_and_weeks() -> None:
    base = result(35.53, "1", normal="passed: 36 checks, nothing moved", changed="failed 4 of 36")
    head = result(34.9, "2", normal="passed: 36 checks, nothing moved", changed="failed 5 of 36")
    lines = metrics_report.service_table(base, head, "abc1234", "def5678")
    assert lines[0].startswith("### Service and monitoring")
    assert "| | Base `abc1234` | This PR `def5678` |" in lines
    table = rows(lines)
    assert table["Service"] == [
        "✅ m 1, holdout MAE 2.500, compiled predictions",
        "✅ m 2, holdout MAE 2.500, compiled predictions",
    ]
    assert table["Example's delivery_minutes"] == ["35.53", "34.90 (-0.63)"]
    assert table["Samples answered"] == ["5 of 5", "5 of 5"]
    assert table["Models that answered"] == ["m/1, m-porto/1", "m/2, m-porto/2"]
    assert table["Week `changed`"] == [
        "❌ failed 4 of 36 (1500 of 1500 orders)",
        "❌ failed 5 of 36 (1500 of 1500 orders)",
    ]
    assert table["Week `normal`"][1] == "✅ passed: 36 checks, nothing moved (1500 of 1500 orders)"
    assert list(table) == [  # the weeks in order of their names, after the service's rows
        "Service",
        "Example's delivery_minutes",
        "Samples answered",
        "Models that answered",
        "Week `changed`",
        "Week `normal`",
    ]


def test_a_side_that_did_not_answer_or_is_missing_is_shown_as_such() -> None:
    head = result(36.0, normal="passed: 36 checks, nothing moved")
    dead = result(0.0) | {"answered": False, "problem": "not ready: a | in the reason\nand more"}
    table = rows(metrics_report.service_table(dead, head, "abc1234", "def5678"))
    assert table["Service"][0] == r"❌ did not answer: not ready: a \| in the reason and more"
    assert table["Example's delivery_minutes"] == ["-", "36.00"]  # no change without a base
    assert table["Week `normal`"][0] == "-"

    lines = metrics_report.service_table(None, head, "abc1234", "def5678", "it has no target")
    assert rows(lines)["Service"][0] == "-"
    assert lines[-1] == "Base: it has no target."


def test_a_week_one_side_lacks_and_an_equal_answer_are_said(tmp_path: Path) -> None:
    base = result(36.0, normal="passed: 36 checks, nothing moved")
    head = result(36.0, normal="passed: 36 checks, nothing moved", rainy="not judged: why")
    table = rows(metrics_report.service_table(base, head, "a", "b"))
    assert table["Example's delivery_minutes"] == ["36.00", "36.00 (same)"]
    assert table["Week `rainy`"] == ["no such week", "⚠️ not judged: why (1500 of 1500 orders)"]


def test_a_verdict_is_one_line_naming_what_moved_where(tmp_path: Path) -> None:
    def check(kind: str, column: str, segment: str | None = None) -> dict:
        return {"check": kind, "column": column, "segment": segment, "description": "..."}

    failed = [
        check("drift", "weather"),
        check("drift", "prediction"),
        check("drift", "distance_km", "porto"),
        check("range", "items"),
        check("error", "absolute_error"),
        check("error", "absolute_error", "porto"),
    ]
    summary = {"alarm": True, "tests": {"total": 30, "failed": 6}, "moved": {}, "failed": failed}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    found = service_check.verdict(tmp_path / "summary.json", "")
    assert found["verdict"] == "failed"
    assert found["line"] == (
        "failed 6 of 30 checks: drift of weather, the prediction, distance_km (porto); "
        "out of range: items; live error above holdout in overall, porto"
    )
    calm = summary | {"alarm": False, "tests": {"total": 30, "failed": 0}, "failed": []}
    (tmp_path / "summary.json").write_text(json.dumps(calm))
    passed = service_check.verdict(tmp_path / "summary.json", "")
    assert (passed["verdict"], passed["line"]) == ("passed", "passed: 30 checks, nothing moved")
    errors = "some warning\nerror: 12 predictions of eta-test version 7 ... (min_rows: 500)\n"
    missing = service_check.verdict(tmp_path / "absent.json", errors)
    assert missing["line"] == "not judged: 12 predictions of eta-test version 7 ... (min_rows: 500)"


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project's root of its own (the session's stays as it is), the tests importable
    by the service and the monitor this test starts."""
    shutil.copytree(PROJECT, tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(RUNTIME))
    return tmp_path


def test_a_result_is_reused_only_for_the_files_it_was_made_from(checkout: Path) -> None:
    (checkout / "models" / "champion").mkdir(parents=True)
    (checkout / "models" / "champion" / "champion.json").write_text("{}")
    made = {"format": service_check.FORMAT, "inputs": service_check.inputs_digest()}
    service_check.write(made, checkout / "build" / "service-check.json")
    assert service_check.fresh(checkout / "build" / "service-check.json") == made
    (checkout / "models" / "champion" / "champion.json").write_text('{"model_version": "2"}')
    assert service_check.fresh(checkout / "build" / "service-check.json") is None
    assert service_check.fresh(checkout / "build" / "absent.json") is None


def test_the_check_records_the_answers_and_why_the_weeks_were_not_judged(
    checkout: Path, model_dir: Path
) -> None:
    shutil.copytree(model_dir, checkout / "models" / "champion")
    found = service_check.check(orders=40, out=checkout / "build" / "service-check.json")
    assert found["answered"], found["problem"]
    assert found["model_version"] == "7" and found["models"] == ["eta-test/7"]
    assert isinstance(found["example"]["answer"], float)
    assert found["samples"]["status"] == 200 and len(found["samples"]["answers"]) == 5
    assert found["version"]["model_version"] == "7"
    assert sorted(found["weeks"]) == ["changed", "normal"]
    for week in found["weeks"].values():
        assert (week["orders"], week["answered"], week["outcomes"]) == (40, 40, 40)
        assert week["verdict"] == "not judged"
        assert "40 predictions of eta-test version 7" in week["line"], week["line"]
    lines = service_check.lines(found)
    assert lines[0].startswith("the service answered the example: ")
    assert "normal week: not judged: 40 predictions" in lines[2]


def test_a_service_that_does_not_start_is_a_result(checkout: Path, model_dir: Path) -> None:
    champion = checkout / "models" / "champion"
    shutil.copytree(model_dir, champion)
    for model in champion.glob("*.skops"):
        model.write_bytes(b"not a model")
    found = service_check.check(orders=40, out=checkout / "build" / "service-check.json")
    assert not found["answered"] and found["weeks"] == {}
    assert found["problem"].startswith("the service is not ready: "), found["problem"]
    assert service_check.lines(found) == [f"the service did not answer: {found['problem']}"]

    shutil.rmtree(champion)
    gone = service_check.check(orders=40, out=checkout / "build" / "service-check.json")
    assert gone["problem"] == "no champion in models/champion/: run `make repro-ci` first"


def test_an_older_base_or_a_failing_base_check_is_said_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "Makefile").write_text("repro-ci:\n\ttrue\n")
    found, why = metrics_report.base_service(tmp_path)
    assert found is None and why == (
        "the base commit's Makefile has no `service-check` target (an older project)"
    )
    (tmp_path / "Makefile").write_text("service-check:  ## the check\n\t@echo broken >&2; false\n")
    found, why = metrics_report.base_service(tmp_path)
    assert found is None and why == "`make service-check` failed on the base commit (log above)"
    made = result(36.0, normal="passed: 36 checks, nothing moved")
    (tmp_path / "Makefile").write_text("service-check:\n\t@false\n")  # exit 1, result written
    service_check.write(made, tmp_path / service_check.RESULT)
    assert metrics_report.base_service(tmp_path) == (made, "")
    service_check.write(made | {"format": 0}, tmp_path / service_check.RESULT)
    found, why = metrics_report.base_service(tmp_path)
    assert found is None and why == "the base commit's service check is of another format (0)"


def test_each_metric_change_is_judged_in_that_metrics_direction() -> None:
    before = {"holdout.log_loss": 0.40, "holdout.roc_auc": 0.80, "holdout.brier": 0.12,
              "holdout.mae": 3.0, "baseline_log_loss": 0.5}  # fmt: skip
    after = {"holdout.log_loss": 0.35, "holdout.roc_auc": 0.78, "holdout.brier": 0.13,
             "holdout.mae": 2.5, "baseline_log_loss": 0.4}  # fmt: skip
    changes = rows(metrics_report.table(before, after, "a", "b").splitlines())
    assert changes["holdout.log_loss"][-1].endswith("✅ better")
    assert changes["holdout.roc_auc"][-1].endswith("⚠️ worse")
    assert changes["holdout.brier"][-1].endswith("⚠️ worse")
    assert changes["holdout.mae"][-1].endswith("✅ better")
    assert not changes["baseline_log_loss"][-1].endswith(("better", "worse"))  # not the model's
