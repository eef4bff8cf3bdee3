"""Stage `compose`: conf/ -> params.yaml, so that `dvc repro` sees edits to conf/;
and uv.lock -> runtime.yaml, what computes each stage (core/stages.py).

Also run by `make params` (before `make repro`), which says what it changes, and
by the pre-commit hook as `--check`, which refuses a params.yaml that conf/ does
not compose to: `dvc exp run -S` leaves one, and `dvc repro` would not reproduce it.
"""

import os
import sys

from ..core import stages
from ..core.modeling import check_task
from ..core.params import PARAMS_FILE, compose_params, drift, load_params, parse_params
from ..core.problems import Problem, report_problems
from ..core.project import use_case


class Drift(Problem):
    pass


def main() -> None:
    if "DVC_EXP_NAME" in os.environ:
        # `dvc exp run` composed params.yaml already, with its -S overrides.
        params = load_params()
        params.model.check()
        check_task(params, use_case().contract)
        stages.write(params.model.library)
        return
    text = compose_params()
    params = parse_params(text)
    params.model.check()  # a typo stops here, before anything is written
    check_task(params, use_case().contract)  # and a model that does not fit the task
    model = params.model
    changed = drift(text)
    if sys.argv[1:] == ["--check"]:
        if changed:
            raise Drift(
                "params.yaml is not what conf/ composes to:\n  " + "\n  ".join(changed) + "\n"
                "Values from `dvc exp run -S` belong in conf/ before they are committed "
                "(`dvc repro` composes from conf/ and would drop them); `make repro` goes "
                "back to conf/'s values."
            )
        return
    if changed:
        print(
            "params.yaml now follows conf/ (it held other values: conf/ was edited, "
            "or `dvc exp run -S` left its own):\n  " + "\n  ".join(changed)
        )
    PARAMS_FILE.write_text(text)
    stages.write(model.library)


if __name__ == "__main__":
    report_problems(main)
