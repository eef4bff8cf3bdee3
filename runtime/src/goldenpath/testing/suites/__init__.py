"""The suites a project runs: `from goldenpath.testing.suites import *` in a test file.

Each is a test class, collected where it is imported, run against the project's use
case and files with the fixtures of the goldenpath pytest plugin (../fixtures.py).
Import one alone to run only it: `from goldenpath.testing.suites.service import TestService`.
"""

from .api import TestApi
from .conf import TestConf
from .contract import TestContract
from .dvc import TestDvcYaml
from .monitoring import TestMonitoring
from .pipeline import TestPipeline
from .service import TestService

__all__ = [
    "TestApi",
    "TestConf",
    "TestContract",
    "TestDvcYaml",
    "TestMonitoring",
    "TestPipeline",
    "TestService",
]
