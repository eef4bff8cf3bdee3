"""params.yaml is composed from conf/ by Hydra; this module is the only reader and writer.

`dvc exp run -S ...` composes params.yaml itself (hydra.enabled in .dvc/config);
plain `dvc repro` does not, so the pipeline's first stage composes it (see
jobs/compose.py). Both use compose_params, so both paths give the same file.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

PARAMS_FILE = Path("params.yaml")
CONF_DIR = Path("conf")


def compose_params(conf_dir: Path = CONF_DIR, overrides: Sequence[str] = ()) -> str:
    """The YAML text Hydra composes from `conf_dir/config.yaml` and `overrides`."""
    # Imported here: Hydra is a pipeline tool, absent from the serving image.
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(str(conf_dir.resolve()), version_base=None):
        config = compose(config_name="config", overrides=list(overrides))
    OmegaConf.resolve(config)
    return OmegaConf.to_yaml(config)


def load_params(path: Path = PARAMS_FILE) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())
