"""Reject answers that would produce a broken project, before any file is written.

Each problem is reported on one line that says what to type instead; cookiecutter
then removes the half-created directory.
"""

import json
import keyword
import re
import shutil
import sys

ANSWERS = json.loads(r"""{{ cookiecutter | jsonify }}""")

SUPPORTED_PYTHONS = ("3.11", "3.13")
# Import names of the generated project's dependencies: a package with one of
# these names would shadow the library it needs.
DEPENDENCY_IMPORTS = {
    "dvc",
    "fastapi",
    "httpx",
    "hydra",
    "matplotlib",
    "mlflow",
    "numpy",
    "omegaconf",
    "orjson",
    "pandas",
    "pandera",
    "prometheus_client",
    "pydantic",
    "pytest",
    "scipy",
    "skops",
    "sklearn",
    "sqlalchemy",
    "starlette",
    "uvicorn",
    "yaml",
}
SLUG = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
PACKAGE = re.compile(r"[a-z][a-z0-9_]*")
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# A Docker image reference without tag or digest: [host[:port]/]path, lowercase.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE = re.compile(rf"(?:[a-z0-9.-]+(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def problems(answers: dict) -> list[str]:
    slug, package = answers["project_slug"], answers["package_name"]
    found = []
    if not answers["project_name"].strip():
        found.append("project_name is empty: type a name such as 'ETA Predictor'.")
    if not SLUG.fullmatch(slug):
        found.append(
            f"project_slug {slug!r} must be lowercase letters, digits and single hyphens,"
            " starting with a letter: type something like 'eta-predictor'."
        )
    if not PACKAGE.fullmatch(package) or keyword.iskeyword(package):
        found.append(
            f"package_name {package!r} is not a valid lowercase Python identifier"
            " (or is a keyword): type something like 'eta_predictor'."
        )
    elif package in sys.stdlib_module_names or package in DEPENDENCY_IMPORTS:
        found.append(
            f"package_name {package!r} would shadow the module of the same name:"
            f" type a project-specific name such as '{package}_model'."
        )
    if answers["python_version"] not in SUPPORTED_PYTHONS:
        found.append(
            f"python_version {answers['python_version']!r} is not supported:"
            f" type one of {', '.join(SUPPORTED_PYTHONS)}."
        )
    if not MODEL_NAME.fullmatch(answers["model_name"]):
        found.append(
            f"model_name {answers['model_name']!r} must be letters, digits, '.', '_'"
            " or '-' (no spaces, '/', ':' or '@'): type something like 'eta-predictor'."
        )
    if not IMAGE.fullmatch(answers["image_name"]):
        found.append(
            f"image_name {answers['image_name']!r} is not a lowercase image name"
            " without a tag: type something like 'ghcr.io/your-org/eta-predictor'."
        )
    if not EMAIL.fullmatch(answers["author_email"]):
        found.append(
            f"author_email {answers['author_email']!r} is not an email address:"
            " type something like 'data-science@example.com'."
        )
    if shutil.which("git") is None:
        found.append("git is not on PATH: install git, then run cookiecutter again.")
    return found


if __name__ == "__main__":
    errors = problems(ANSWERS)
    for error in errors:
        print(f"ERROR: {error}", file=sys.stderr)
    sys.exit(1 if errors else 0)
