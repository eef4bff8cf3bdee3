"""Stage `compose`: conf/ -> params.yaml, so that `dvc repro` sees edits to conf/."""

import os

from ..params import PARAMS_FILE, compose_params


def main() -> None:
    if "DVC_EXP_NAME" in os.environ:
        # `dvc exp run` already composed params.yaml with its -S overrides.
        print("params.yaml: composed by dvc exp run, kept as is")
        return
    PARAMS_FILE.write_text(compose_params())


if __name__ == "__main__":
    main()
