"""The project the runtime works for: its use case, found through one entry point.

A project declares its use case in its pyproject.toml, and the layout it follows:

    [project.entry-points.goldenpath]
    use_case = "my_package.usecase:USE_CASE"

    [tool.goldenpath]
    layout = 1

Every command of the runtime gets the use case from `use_case()`, and passes it on as
a value: no module of the runtime imports a project module by name. GOLDENPATH_USE_CASE
(`module:attribute`) names another one instead, for the runtime's own tests.
"""

import functools
import importlib.metadata
import os
import tomllib
from pathlib import Path

from .contract import UseCase
from .problems import Problem

ENTRY_POINT_GROUP = "goldenpath"
ENTRY_POINT = "use_case"
SUPPORTED_LAYOUTS = (1,)  # what [tool.goldenpath] layout may say (see the runtime's README)
MIGRATION = "see MIGRATING.md in the goldenpath template"
OVERRIDE = "GOLDENPATH_USE_CASE"


class ProjectProblem(Problem):
    pass


@functools.cache
def _entry_point() -> importlib.metadata.EntryPoint:
    if OVERRIDE in os.environ:
        return importlib.metadata.EntryPoint(ENTRY_POINT, os.environ[OVERRIDE], ENTRY_POINT_GROUP)
    found = [
        point
        for point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        if point.name == ENTRY_POINT
    ]
    if not found:
        raise ProjectProblem(
            "no project declares a goldenpath use case in this environment: pyproject.toml "
            f'needs [project.entry-points.{ENTRY_POINT_GROUP}] {ENTRY_POINT} = "<package>.usecase'
            ':USE_CASE", then `uv sync` (make setup)'
        )
    if len({point.value for point in found}) > 1:
        values = ", ".join(sorted(point.value for point in found))
        raise ProjectProblem(
            f"more than one installed project declares a goldenpath use case ({values}): "
            "install one project per environment"
        )
    return found[0]


@functools.cache
def use_case() -> UseCase:
    """The project's use case (its usecase.py's USE_CASE), checked once."""
    check_layout(Path.cwd())
    try:
        value = _entry_point().load()
    except (ImportError, AttributeError) as error:
        raise ProjectProblem(
            f"the use case {_entry_point().value} cannot be loaded: {error}"
        ) from None
    if not isinstance(value, UseCase):
        raise ProjectProblem(
            f"{_entry_point().value} is a {type(value).__name__}, not a goldenpath UseCase"
        )
    return value


def distribution() -> str | None:
    """The project's distribution name: its dependencies are what loading a model needs.

    None for a use case named by GOLDENPATH_USE_CASE that no distribution installs.
    """
    dist = _entry_point().dist
    if dist is not None:
        return dist.name
    found = importlib.metadata.packages_distributions().get(package())
    return found[0] if found else None


def package() -> str:
    """The project's top-level package (its own types in a model are trusted)."""
    return _entry_point().value.split(".", 1)[0].split(":", 1)[0]


def check_layout(root: Path) -> None:
    """Stop, naming the migration, when the project at `root` has a layout not supported.

    Where there is no pyproject.toml (the serving image runs from its home folder),
    there is nothing to check: the image was built from a checked project.
    """
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return
    try:
        settings = tomllib.loads(pyproject.read_text()).get("tool", {}).get("goldenpath")
    except tomllib.TOMLDecodeError as error:
        raise ProjectProblem(f"{pyproject} is not valid TOML: {error}") from None
    if settings is None:
        raise ProjectProblem(
            f"{pyproject} has no [tool.goldenpath] table: this project predates the goldenpath "
            f"runtime (its machinery is copied into src/); migrate it, {MIGRATION}"
        )
    layout = settings.get("layout")
    if layout not in SUPPORTED_LAYOUTS:
        supported = ", ".join(map(str, SUPPORTED_LAYOUTS))
        raise ProjectProblem(
            f"{pyproject}: [tool.goldenpath] layout = {layout!r}, this goldenpath runtime "
            f"supports layout {supported}: update the project (copier update), {MIGRATION}, "
            "or pin the goldenpath release it was made with"
        )
