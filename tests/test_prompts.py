"""Bad answers are refused with one line that says what to type, and nothing is created."""

import pytest

from .conftest import bake_cli

BAD_ANSWERS = [
    ({"project_slug": "ETA Predictor"}, "project_slug", "eta-predictor"),
    ({"project_slug": "1-eta"}, "project_slug", "eta-predictor"),
    ({"project_slug": "eta--predictor"}, "project_slug", "eta-predictor"),
    ({"package_name": "eta-predictor"}, "package_name", "eta_predictor"),
    ({"package_name": "class"}, "package_name", "eta_predictor"),
    ({"package_name": "json"}, "package_name", "json_model"),
    ({"package_name": "mlflow"}, "package_name", "mlflow_model"),
    ({"package_name": "sklearn"}, "package_name", "sklearn_model"),
    ({"model_name": "eta predictor"}, "model_name", "eta-predictor"),
    ({"model_name": "models:/eta@champion"}, "model_name", "eta-predictor"),
    ({"image_name": "ghcr.io/Org/ETA"}, "image_name", "ghcr.io/your-org/eta-predictor"),
    ({"image_name": "ghcr.io/org/eta:latest"}, "image_name", "ghcr.io/your-org/eta-predictor"),
    ({"author_email": "nobody"}, "author_email", "data-science@example.com"),
    ({"project_name": " "}, "project_name", "ETA Predictor"),
]


@pytest.mark.parametrize(("answers", "field", "suggestion"), BAD_ANSWERS, ids=str)
def test_bad_answer_is_refused_and_nothing_is_left(answers, field, suggestion, tmp_path) -> None:
    result = bake_cli(tmp_path, **answers)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) >= 1
    assert any(field in line and suggestion in line for line in errors), result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("version", ["3.9", "3.12"])
def test_unsupported_python_is_refused_by_cookiecutter_itself(version, tmp_path) -> None:
    """A choice variable only takes the offered values; the hook checks them again."""
    result = bake_cli(tmp_path, python_version=version)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert f"{version} provided for choice variable python_version" in last_line
    assert "'3.11', '3.13'" in last_line
    assert list(tmp_path.iterdir()) == []


def test_every_problem_is_reported_at_once(tmp_path) -> None:
    result = bake_cli(tmp_path, package_name="class", model_name="a b", author_email="x")
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 3
    assert list(tmp_path.iterdir()) == []


def test_good_custom_answers_are_accepted(tmp_path) -> None:
    result = bake_cli(
        tmp_path,
        project_name="Ride Demand",
        package_name="ride_demand_model",
        model_name="ride.demand_v2",
        image_name="registry.example.com:5000/platform/ride-demand",
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "ride-demand" / "src" / "ride_demand_model" / "contract.py").is_file()
