"""Checks of the answers, run while cookiecutter renders them: before anything is written.

A Jinja extension (`_extensions` in cookiecutter.json) whose filter `checked` is
applied to every answer by the last, private variable. A bad answer stops
cookiecutter with one line per problem and nothing on disk: cookiecutter prints
this exception type as its message, where a failing pre_gen_project hook gets a
traceback and its half-created directory.
"""

import datetime
import keyword
import re
import shutil
import sys
import unicodedata
from pathlib import Path

from jinja2.ext import Extension

SUPPORTED_PYTHONS = ("3.11", "3.13")
LICENSES = ("MIT", "BSD-3-Clause", "Proprietary")
MAX_SLUG = 64
# Import names in the generated project's environment (tests/test_names.py keeps the
# list complete): a package named like one of them would shadow it.
DEPENDENCY_IMPORTS = frozenset(
    (Path(__file__).with_name("dependency_imports.txt")).read_text().split()
)
# The project's own folders: a package named like one is shadowed from the project root.
PROJECT_FOLDERS = frozenset(
    {"build", "compose", "conf", "data", "docs", "models", "reports", "scripts", "src", "tests"}
)
SLUG = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
PACKAGE = re.compile(r"[a-z][a-z0-9_]*")
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# A Docker image reference without tag or digest: [host[:port]/]path, lowercase.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE = re.compile(rf"(?:[a-z0-9.-]+(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def problems(answers: dict) -> list[str]:
    """One line per bad answer, saying what to type instead.

    The package, model and image names are made from the slug: when the name or
    the slug is bad, an answer made from it is not reported again (one problem,
    one line).
    """
    slug = answers["project_slug"]
    found = _identity_problems(answers["project_name"], slug)
    for field, check in CHECKS.items():
        value = answers[field]
        made_from_bad_slug = found and field in FROM_SLUG and slug.replace("-", "_") in value
        if not made_from_bad_slug and (problem := check(value)):
            found.append(problem)
    if shutil.which("git") is None:
        found.append("git is not on PATH: install git, then run cookiecutter again.")
    return found


def _identity_problems(name: str, slug: str) -> list[str]:
    if not any(character.isalnum() for character in name):
        return ["project_name has no letters or digits: type a name such as 'ETA Predictor'."]
    if not SLUG.fullmatch(slug) or len(slug) > MAX_SLUG:
        return [
            f"project_slug {slug[:80]!r} must be lowercase letters, digits and single hyphens,"
            f" starting with a letter, at most {MAX_SLUG} long: type something like"
            " 'eta-predictor'."
        ]
    return []


def _package(package: str) -> str | None:
    if not PACKAGE.fullmatch(package) or keyword.iskeyword(package) or len(package) > MAX_SLUG:
        return (
            f"package_name {package[:80]!r} is not a valid lowercase Python identifier"
            " (or is a keyword): type something like 'eta_predictor'."
        )
    if package in sys.stdlib_module_names or package in DEPENDENCY_IMPORTS:
        return (
            f"package_name {package!r} would shadow the module of the same name:"
            f" type a project-specific name such as '{package}_model'."
        )
    if package in PROJECT_FOLDERS:
        return (
            f"package_name {package!r} is also a folder of the project, which would shadow it:"
            f" type a project-specific name such as '{package}_model'."
        )
    return None


def _offered(field: str, offers: tuple[str, ...]):
    def check(value: str) -> str | None:
        if value not in offers:
            return f"{field} {value!r} is not offered: type one of {', '.join(offers)}."
        return None

    return check


def _pattern(field: str, pattern: re.Pattern, rule: str, example: str):
    def check(value: str) -> str | None:
        if not pattern.fullmatch(value):
            return f"{field} {value[:80]!r} {rule}: type something like {example!r}."
        return None

    return check


CHECKS = {
    "package_name": _package,
    "python_version": _offered("python_version", SUPPORTED_PYTHONS),
    "license": _offered("license", LICENSES),
    "model_name": _pattern(
        "model_name",
        MODEL_NAME,
        "must be letters, digits, '.', '_' or '-' (no spaces, '/', ':' or '@')",
        "eta-predictor",
    ),
    "image_name": _pattern(
        "image_name",
        IMAGE,
        "is not a lowercase image name without a tag",
        "ghcr.io/your-org/eta-predictor",
    ),
    "author_email": _pattern(
        "author_email", EMAIL, "is not an email address", "data-science@example.com"
    ),
}
FROM_SLUG = ("package_name", "model_name", "image_name")


def checked(answers: dict) -> str:
    if found := problems(answers):
        from cookiecutter.exceptions import FailedHookException  # noqa: PLC0415 (not copier's)

        raise FailedHookException("\n".join(f"ERROR: {problem}" for problem in found))
    return "ok"


class AnswerChecks(Extension):
    def __init__(self, environment) -> None:
        super().__init__(environment)
        environment.filters["checked"] = checked
        environment.filters["slug"] = slug  # copier's slugify, as cookiecutter's
        environment.globals["current_year"] = datetime.datetime.now(datetime.UTC).year


def slug(name: str, max_length: int = MAX_SLUG) -> str:
    """A name as cookiecutter's `slugify(max_length=64, word_boundary=True)` made it."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    kept = ""
    for word in re.findall(r"[a-z0-9]+", ascii_name.lower()):
        joined = f"{kept}-{word}" if kept else word
        if len(joined) <= max_length:
            kept = joined
    return kept or ascii_name.lower()[:max_length]
