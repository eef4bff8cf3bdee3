"""`python -m goldenpath.docs` gives the installed runtime's README."""

import subprocess
import sys


def test_the_docs_are_the_readme_of_the_installed_runtime() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "goldenpath.docs"], capture_output=True, text=True, check=True
    ).stdout
    # The installed package's copy: an editable install's is the README of its install.
    assert shown.startswith("# goldenpath: the runtime\n")
    assert "\n## The API\n" in shown
