"""goldenpath: the ML platform's golden path as a library.

A project gives it one value, its use case (a `UseCase`: the feature contract with
its derived features (`Derived`: the project's feature code), the target, the
registered model's name, a segment, optionally an example-data generator and
monitoring scenarios), and runs its commands: the pipeline's stages
(`python -m goldenpath.jobs.<stage>`), the service (`python -m goldenpath.serving`),
the monitor (`python -m goldenpath.monitoring.monitor`). See README.md.
"""

import importlib.metadata

from .core.contract import Contract, Feature, UseCase
from .core.derived import Derived

__version__ = importlib.metadata.version(__name__)
__all__ = ["Contract", "Derived", "Feature", "UseCase", "__version__"]
