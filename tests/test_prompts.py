"""Bad answers are refused with one line each, no traceback, and nothing on disk."""

import re
import subprocess
import sys

import pytest

from .conftest import TEMPLATE, bake_cli

BAD_ANSWERS = [
    ({"project_slug": "ETA Predictor"}, "project_slug", "eta-predictor"),
    ({"project_slug": "1-eta"}, "project_slug", "eta-predictor"),
    ({"project_slug": "eta--predictor"}, "project_slug", "eta-predictor"),
    ({"project_slug": "x" * 276}, "project_slug", "at most 64"),
    ({"package_name": "eta-predictor"}, "package_name", "eta_predictor"),
    ({"package_name": "class"}, "package_name", "eta_predictor"),
    ({"package_name": "json"}, "package_name", "json_model"),
    ({"package_name": "mlflow"}, "package_name", "mlflow_model"),
    ({"package_name": "goldenpath"}, "package_name", "goldenpath_model"),
    ({"package_name": "sklearn"}, "package_name", "sklearn_model"),
    ({"package_name": "requests"}, "package_name", "requests_model"),
    ({"package_name": "tests"}, "package_name", "tests_model"),
    ({"package_name": "data"}, "package_name", "data_model"),
    ({"package_name": "conf"}, "package_name", "conf_model"),
    ({"python_version": "3.9"}, "python_version", "3.11, 3.12, 3.13"),
    ({"python_version": "3.10"}, "python_version", "3.11, 3.12, 3.13"),
    ({"license": "GPL"}, "license", "MIT, BSD-3-Clause, Proprietary"),
    ({"model_name": "eta predictor"}, "model_name", "eta-predictor"),
    ({"model_name": "models:/eta@champion"}, "model_name", "eta-predictor"),
    ({"image_name": "ghcr.io/Org/ETA"}, "image_name", "ghcr.io/your-org/eta-predictor"),
    ({"image_name": "ghcr.io/org/eta:latest"}, "image_name", "ghcr.io/your-org/eta-predictor"),
    ({"author_email": "nobody"}, "author_email", "data-science@example.com"),
    ({"project_name": " "}, "project_name", "ETA Predictor"),
    ({"project_name": ""}, "project_name", "ETA Predictor"),
    ({"example": "fraud"}, "example", "delivery_time, late_delivery"),
]


def errors_of(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("ERROR:")]


@pytest.mark.parametrize(("answers", "field", "suggestion"), BAD_ANSWERS, ids=str)
def test_bad_answer_is_refused_and_nothing_is_left(answers, field, suggestion, tmp_path) -> None:
    result = bake_cli(tmp_path, **answers)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert [line for line in output.splitlines() if line.strip()] == errors_of(output)
    [error] = errors_of(output)
    assert field in error and suggestion in error, output
    assert list(tmp_path.iterdir()) == []


def test_a_bad_answer_is_refused_at_its_own_question(tmp_path) -> None:
    """Typed at the prompt: the bake stops at the bad slug, before the next question."""
    typed = "Ride Demand\nRide Demand!\n"
    result = subprocess.run(
        [sys.executable, "-m", "cookiecutter", "-o", str(tmp_path), str(TEMPLATE)],
        input=typed,
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    [error] = re.findall(r"ERROR: .*", output)  # after the prompt, on its line
    assert "project_slug 'Ride Demand!'" in error, output
    assert "Python package name" not in output, "the next question was asked"
    assert "Traceback" not in output
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
    assert (tmp_path / "ride-demand" / "src" / "ride_demand_model" / "usecase.py").is_file()


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Prévision des Délais", "prevision-des-delais"),
        ("Route 66 ETA", "route-66-eta"),
        ("A very long name " * 16, "-".join(["a-very-long-name"] * 3 + ["a-very-long-a"])),
    ],
)
def test_names_slugify(name: str, slug: str, tmp_path) -> None:
    """Accents become letters; a long name becomes a slug of at most 64 characters."""
    result = bake_cli(tmp_path, project_name=name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / slug / "src" / slug.replace("-", "_")).is_dir()


def test_a_bake_over_a_project_is_refused_and_changes_nothing(tmp_path) -> None:
    """`cookiecutter -f` into a project would overwrite the team's files and commit them
    as the scaffold: refused before a file is written, naming `make update`."""
    assert bake_cli(tmp_path).returncode == 0
    [project] = tmp_path.iterdir()
    (project / "README.md").write_text("the team's own words\n")
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "-f", "-o", str(tmp_path)]
    result = subprocess.run([*command, str(TEMPLATE)], capture_output=True, text=True)
    assert result.returncode != 0
    first = result.stderr.splitlines()[0]  # cookiecutter's own traceback follows
    assert first.startswith(f"ERROR: {project} holds a project already") and "make update" in first
    status = subprocess.run(
        ["git", "status", "--short"], cwd=project, capture_output=True, text=True
    )
    assert status.stdout == " M README.md\n"  # the team's change, and nothing else
    assert (project / "README.md").read_text() == "the team's own words\n"
