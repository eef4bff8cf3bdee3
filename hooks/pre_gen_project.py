"""Cookiecutter's pre-generation step: never bake over a project (`cookiecutter -f`).

A bake into an existing project would overwrite the team's files, append a second DVC
remote and commit everything as the scaffold: a project takes a release with `make update`.
"""

import sys
from pathlib import Path

if Path(".git").exists() or Path(".env").exists():  # cookiecutter runs this in the folder
    sys.exit(
        f"ERROR: {Path.cwd()} holds a project already, and nothing in it was changed. To take a "
        "new release of the template: `make update` in it. To start over: bake into another "
        "folder (-o DIR, or another project_slug), or delete this one first."
    )
