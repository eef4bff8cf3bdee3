"""One template, two tools: copier asks cookiecutter's questions and bakes the same project."""

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from .conftest import TEMPLATE, bake, bake_cli, copier_cli, run
from .test_prompts import BAD_ANSWERS, errors_of

COOKIECUTTER = json.loads((TEMPLATE / "cookiecutter.json").read_text())
COPIER = yaml.safe_load((TEMPLATE / "copier.yml").read_text())
QUESTIONS = [name for name in COOKIECUTTER if not name.startswith("_")]
VARIANTS = {
    "defaults": {},
    "custom": {
        "project_name": "Ride Demand",
        "package_name": "ride_demand_model",
        "example": "late_delivery",
        "python_version": "3.12",
        "license": "BSD-3-Clause",
        "github_owner": "Acme-Mobility",
    },
}


def test_the_documented_copier_is_the_pinned_one() -> None:
    """Every copier command the docs give runs the copier the template is tested with."""
    dev = tomllib.loads((TEMPLATE / "pyproject.toml").read_text())["dependency-groups"]["dev"]
    pins = {pin.split("==")[0]: pin for pin in dev if pin.startswith("copier")}
    assert set(pins) == {"copier", "copier-template-extensions"}, dev
    documents = ["README.md", "MIGRATING.md", "runtime/CHANGELOG.md", "runtime/docs/ci.md"]
    for name in documents:
        text = re.sub(r"\s*\\\n\s*|\n", " ", (TEMPLATE / name).read_text())  # one line each
        commands = re.findall(r"uvx [^`]*?copier (?:copy|update)", text)
        assert commands, f"{name} gives no copier command"
        for command in commands:
            assert f"--from {pins['copier']} " in command, (name, command)
            assert f"--with {pins['copier-template-extensions']} " in command, (name, command)


def test_copier_asks_cookiecutters_questions_with_its_checks() -> None:
    """copier.yml's questions are cookiecutter.json's: names, order, help, defaults, checks."""
    assert [name for name in COPIER if not name.startswith("_")] == QUESTIONS
    for name in QUESTIONS:
        question = COPIER[name]
        assert question["type"] == "str", name
        assert question["help"] == COOKIECUTTER["__prompts__"][name], name
        assert question["default"] == COOKIECUTTER[name].replace("cookiecutter.", ""), name
        checked = f"__check_{name}" in COOKIECUTTER
        if checked:  # cookiecutter's check follows its question, so it runs right after it
            keys = list(COOKIECUTTER)
            assert keys[keys.index(name) + 1] == f"__check_{name}", name
            assert COOKIECUTTER[f"__check_{name}"] == f"{{{{ cookiecutter | refused('{name}') }}}}"
        assert ("validator" in question) == checked, name
        if checked:
            assert question["validator"] == f"{{{{ cookiecutter | problem('{name}') }}}}"
            assert question["when"] == f"{{{{ cookiecutter | given_answer_checked('{name}') }}}}"


def normalised(project: Path) -> dict[str, bytes]:
    """Every file, with what is meant to differ between two bakes made equal.

    Secrets (.env's values) and the DVC remote's random suffix differ per bake; the answers
    file's template source and commit are each tool's own way of naming the same release.
    """
    files = {}
    for path in sorted(project.rglob("*")):
        relative = path.relative_to(project).as_posix()
        if not path.is_file() or relative.startswith(".git/"):
            continue
        content = path.read_bytes()
        if relative == ".env":
            content = re.sub(rb"(?m)=(.+)$", b"=<value>", content)
        elif relative == ".dvc/config":
            content = re.sub(rb"-[0-9a-f]{8}\n", b"-<random>\n", content)
        elif relative == ".copier-answers.yml":
            content = re.sub(rb"(?m)^(_commit|_src_path): .*$", rb"\1: <release>", content)
        files[relative] = content
    return files


@pytest.fixture(scope="module", params=list(VARIANTS))
def both_bakes(request, tmp_path_factory) -> tuple[dict, Path, Path]:
    answers = VARIANTS[request.param]
    by_cookiecutter = bake(tmp_path_factory.mktemp("cookiecutter"), **answers)
    destination = tmp_path_factory.mktemp("copier") / by_cookiecutter.name
    result = copier_cli(destination, **answers)
    assert result.returncode == 0, result.stdout + result.stderr
    return answers, by_cookiecutter, destination


def test_copier_bakes_the_same_project_file_by_file(both_bakes) -> None:
    _, by_cookiecutter, by_copier = both_bakes
    cookiecutter_files, copier_files = normalised(by_cookiecutter), normalised(by_copier)
    assert sorted(copier_files) == sorted(cookiecutter_files)
    assert [name for name in copier_files if copier_files[name] != cookiecutter_files[name]] == []


def test_each_bake_records_the_release_and_the_answers_in_its_first_commit(both_bakes) -> None:
    answers, *projects = both_bakes
    for project in projects:
        committed = run("git show HEAD:.copier-answers.yml", project).stdout
        recorded = yaml.safe_load(committed)
        assert recorded["_commit"] and recorded["_src_path"], committed
        assert {name: recorded[name] for name in answers} == answers
        assert set(recorded) == {*QUESTIONS, "_commit", "_src_path"}
        assert run("git rev-list --count HEAD", project).stdout.strip() == "1"
        assert run("git status --porcelain", project).stdout == ""
    cookiecutter_source = yaml.safe_load((projects[0] / ".copier-answers.yml").read_text())
    assert Path(cookiecutter_source["_src_path"]) == TEMPLATE  # where `copier update` looks


# One of each kind of check: the same line from both tools, and nothing on disk.
SAMPLE = [BAD_ANSWERS[i] for i in (0, 4, 6, 15, 17, 19, 22)]


@pytest.mark.parametrize(("answers", "field", "suggestion"), SAMPLE, ids=str)
def test_a_bad_answer_gets_the_same_line_from_both_tools(answers, field, suggestion, tmp_path):
    by_cookiecutter = bake_cli(tmp_path / "cookiecutter", **answers)
    by_copier = copier_cli(tmp_path / "copier" / "project", **answers)
    assert by_copier.returncode != 0
    [expected] = errors_of(by_cookiecutter.stdout + by_cookiecutter.stderr)
    output = by_copier.stdout + by_copier.stderr
    assert errors_of(output) == [expected] and field in expected and suggestion in expected
    assert "Traceback" not in output
    assert not (tmp_path / "copier").exists() or list((tmp_path / "copier").iterdir()) == []
