"""Copier's side of the one template: its answers as `cookiecutter.*`, as the files use them.

Loaded by copier only (`_jinja_extensions` in copier.yml, through copier-template-extensions),
so that every file is written once, in cookiecutter's terms, and renders the same under
both tools. The questions are cookiecutter.json's (copier.yml asks the same ones).
"""

import json
from pathlib import Path

from copier_template_extensions import ContextHook

QUESTIONS = [
    name
    for name in json.loads((Path(__file__).parents[1] / "cookiecutter.json").read_text())
    if not name.startswith("_")
]


class CookiecutterContext(ContextHook):
    def hook(self, context: dict) -> None:
        context["cookiecutter"] = {name: context[name] for name in QUESTIONS if name in context}
