"""The top-level import names of a set-up project's environment, one per line.

    uv run python tests/dependency_imports.py PROJECT > hooks/dependency_imports.txt

hooks/answers.py refuses a package named like one of them (it would shadow it);
tests/test_names.py checks that the list covers a freshly set-up project.
"""

import sys
from pathlib import Path


def import_names(project: Path) -> set[str]:
    names = set()
    for site_packages in project.glob(".venv/lib/python3*/site-packages"):
        for entry in site_packages.iterdir():
            name = entry.name.split(".", 1)[0]
            is_module = entry.is_dir() or entry.suffix in (".py", ".so")
            if is_module and name.isidentifier() and not name.startswith("_") and "-" not in name:
                names.add(name)
    return names - {entry.name for entry in project.glob("src/*")}


if __name__ == "__main__":
    print("\n".join(sorted(import_names(Path(sys.argv[1])))))
