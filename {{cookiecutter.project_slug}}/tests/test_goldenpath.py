"""The goldenpath runtime's suites, run against this project's use case and conf/.

They come with the runtime (goldenpath.testing), derived from the contract in
usecase.py and from conf/ and dvc.yaml, never from the example data: a new feature or
model config needs no test edits. TestContract (the contract holds together), TestConf
(every conf/ option composes, every model config fits, saves, loads and is served),
TestDvcYaml (each stage lists exactly what its job reads), TestPipeline (the stages
train and serve a champion), TestService (the service answers the contract), TestApi
(the API as clients meet it: malformed requests, fuzzing from its OpenAPI document;
against a running service with SERVICE_URL=http://127.0.0.1:8000, and SERVE_API_KEY if
it has one), TestMonitoring (the drift checks judge rightly). A failure says what to fix.

Your own tests go in files of their own here (tests/test_<what>.py). The runtime's
pytest plugin gives them fixtures: `contract`, `orders` (labelled rows drawn from the
contract), `model_dir` (a small fitted champion), `model_set`, `params`, `project_root`.
Run one suite: `uv run pytest -k TestService`.
"""

from goldenpath.testing.suites import *  # noqa: F403
