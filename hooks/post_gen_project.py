"""Cookiecutter's post-generation step: the template's scaffold.py, as copier's task runs it."""

import sys

sys.path.insert(0, r"""{{ template_dir }}/hooks""")
sys.argv[1:] = ["copy"]

import scaffold  # noqa: E402 (found through the path above: this copy runs from a temp folder)

scaffold.main()
