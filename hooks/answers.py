"""The answers' checks, and what the template's files need from Jinja: for both tools.

One Jinja extension, loaded by cookiecutter (`_extensions` in cookiecutter.json) and by
copier (`_jinja_extensions` in copier.yml). `problem(field)` is each question's check: a
copier question's `validator`, and under cookiecutter the private variable that follows
the question, which stops the bake at that answer with one line and nothing on disk
(cookiecutter prints this exception type as its message, where a failing pre_gen_project
hook gets a traceback and its half-created directory).
"""

import datetime
import keyword
import re
import shutil
import subprocess
import sys
import tomllib
import unicodedata
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from jinja2 import pass_context
from jinja2.ext import Extension

SUPPORTED_PYTHONS = ("3.11", "3.12", "3.13")
LICENSES = ("MIT", "BSD-3-Clause", "Proprietary")
# The example use cases a project starts from, and the description each suggests.
EXAMPLES = {
    "delivery_time": "Predict how long a food-delivery order takes to arrive.",
    "late_delivery": "Predict whether a food-delivery order arrives late.",
}
MAX_SLUG = 64
# Import names in the generated project's environment (tests/test_names.py keeps the
# list complete): a package named like one of them would shadow it.
DEPENDENCY_IMPORTS = frozenset(
    (Path(__file__).with_name("dependency_imports.txt")).read_text().split()
)
# The project's own folders: a package named like one is shadowed from the project root.
PROJECT_FOLDERS = frozenset(
    {
        "build",
        "compose",
        "conf",
        "data",
        "docs",
        "models",
        "reports",
        "scripts",
        "src",
        "tests",
        "wheels",
    }
)
SLUG = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
PACKAGE = re.compile(r"[a-z][a-z0-9_]*")
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# A Docker image reference without tag or digest: [host[:port]/]path, lowercase.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE = re.compile(rf"(?:[a-z0-9.-]+(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _project_name(name: str) -> str | None:
    if not any(character.isalnum() for character in name):
        return "project_name has no letters or digits: type a name such as 'ETA Predictor'."
    return None


def _project_slug(slug: str) -> str | None:
    if not SLUG.fullmatch(slug) or len(slug) > MAX_SLUG:
        return (
            f"project_slug {slug[:80]!r} must be lowercase letters, digits and single hyphens,"
            f" starting with a letter, at most {MAX_SLUG} long: type something like"
            " 'eta-predictor'."
        )
    return None


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


INDEX_EXAMPLE = "https://packages.example.com/simple"


def _package_index(url: str) -> str | None:
    """Empty (the bundled wheel), or the http(s) URL of the index that serves the runtime."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a port that is not a number)
    except ValueError:
        parts = None
    if parts is not None and "@" in parts.netloc:  # said without the URL: it has a secret
        return (
            "package_index has credentials in it, which pyproject.toml and uv.lock would"
            " commit: type the URL without them and set UV_INDEX_GOLDENPATH_USERNAME and"
            " UV_INDEX_GOLDENPATH_PASSWORD in the environment instead."
        )
    shown = f"package_index {url[:80]!r}"
    if parts is not None and parts.scheme.lower() == "file":
        return (
            f"{shown} is a folder on this machine, which the serving image's build cannot"
            " read: serve it over http(s) and type that URL, or leave it empty (the wheel"
            " bundled with the template)."
        )
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return (
            f"{shown} is not an http(s) URL: type the index's URL, such as"
            f" {INDEX_EXAMPLE!r}, or leave it empty (the wheel bundled with the template)."
        )
    if parts.query or parts.fragment or re.search(r'[\s"\\]', url):
        return (
            f"{shown} has a query, a fragment, spaces, quotes or backslashes: type the"
            f" index's plain URL, such as {INDEX_EXAMPLE!r}."
        )
    return None


CHECKS = {
    "project_name": _project_name,
    "project_slug": _project_slug,
    "package_name": _package,
    "python_version": _offered("python_version", SUPPORTED_PYTHONS),
    "license": _offered("license", LICENSES),
    "example": _offered("example", tuple(EXAMPLES)),
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
    "package_index": _package_index,
}


def problem(answers: dict, field: str) -> str:
    """What is wrong with the answer to `field`, in one line; empty when it is good."""
    return CHECKS[field](str(answers[field])) or ""


@pass_context
def given_answer_checked(context, answers: dict, field: str) -> bool:
    """Copier's check of an answer given on its command line (--data), before it is used.

    A typed answer is checked by the question's validator, which asks again; a given
    one cannot be asked again, and copier would print the validator's line at the end of
    a traceback: a question's `when` runs first, and its error is copier's one line.
    """
    conf = context.get("_copier_conf") or {}
    if field in (conf.get("data") or {}) and (found := problem(answers, field)):
        from copier.errors import UserMessageError

        raise UserMessageError(f"ERROR: {found}")
    return True


def refused(answers: dict, field: str) -> str:
    """Cookiecutter's check of one answer, right after its question: stop on a bad one."""
    if found := problem(answers, field):
        raise _failed(f"ERROR: {found}")
    return "ok"


def tools_checked(_answers: dict) -> str:
    """What the bake needs besides good answers, checked before anything is written."""
    if shutil.which("git") is None:
        raise _failed("ERROR: git is not on PATH: install git, then bake again.")
    return "ok"


def _failed(message: str) -> Exception:
    """Cookiecutter's own exception, when it runs (copier never calls this)."""
    from cookiecutter.exceptions import FailedHookException

    return FailedHookException(message)


def example_description(example: str) -> str:
    """The description's default: what the chosen example predicts (checked before)."""
    return EXAMPLES.get(example, "")


def slug(name: str, max_length: int = MAX_SLUG) -> str:
    """A name as a repository slug: ASCII letters and digits, single hyphens, whole words.

    As cookiecutter's `slugify(max_length=64, word_boundary=True)` made them: a word that
    does not fit is left out, and a shorter one after it may still fit.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_name.lower())
    kept = ""
    for word in words:
        joined = f"{kept}-{word}" if kept else word
        if len(joined) <= max_length:
            kept = joined
    return kept or ascii_name.lower()[:max_length]


ANSWERS_HEADER = "# Changes here will be overwritten by Copier; NEVER EDIT MANUALLY\n"


@pass_context
def recorded_answers(context) -> str:
    """The answers file's text: the template's version and source, and every answer.

    Copier passes its own record (`_copier_answers`); under cookiecutter the same record
    is made from its answers, so that `copier update` works on either tool's bake.
    """
    if "_copier_answers" in context:
        record = dict(context["_copier_answers"])
    else:
        answers = context["cookiecutter"]
        record = {key: value for key, value in answers.items() if not key.startswith("_")}
        record |= {"_commit": template_version(), "_src_path": template_source(answers)}
    return ANSWERS_HEADER + yaml.safe_dump(record, allow_unicode=True, sort_keys=True)


def template_dir() -> Path:
    return Path(__file__).resolve().parents[1]


def template_version() -> str:
    """The release this bake comes from, as copier records it (`git describe --tags`)."""
    described = subprocess.run(
        ["git", "describe", "--tags", "--always"],
        cwd=template_dir(),
        capture_output=True,
        text=True,
    )
    if described.returncode == 0 and described.stdout.strip():
        return described.stdout.strip()
    # Not a git checkout (an archive): the version its pyproject.toml says.
    pyproject = tomllib.loads((template_dir() / "pyproject.toml").read_text())
    return pyproject["project"]["version"]


def template_source(answers: dict) -> str:
    """Where `copier update` finds the template again: the URL given, or this folder."""
    given = str(answers.get("_template", ""))
    if re.match(r"^(gh:|gl:|git\+|https?://|git@|ssh://)", given):
        return given
    return str(template_dir())


def runtime_version() -> str:
    """The version of the runtime in this template (runtime/pyproject.toml)."""
    pyproject = template_dir() / "runtime" / "pyproject.toml"
    return tomllib.loads(pyproject.read_text())["project"]["version"]


class AnswerChecks(Extension):
    def __init__(self, environment) -> None:
        super().__init__(environment)
        environment.filters |= {
            "problem": problem,
            "given_answer_checked": given_answer_checked,
            "refused": refused,
            "tools_checked": tools_checked,
            "slug": slug,
            "example_description": example_description,
        }
        environment.globals |= {
            "recorded_answers": recorded_answers,
            # Absolute (cookiecutter's _repo_dir may be relative to a folder the hooks no
            # longer run in): the post-generation step builds the runtime from it.
            "template_dir": str(template_dir()),
            "runtime_version": runtime_version(),
            "current_year": datetime.datetime.now(datetime.UTC).year,  # the LICENSE's
        }
