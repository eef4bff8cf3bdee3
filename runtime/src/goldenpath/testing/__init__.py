"""The tests every goldenpath project runs, against its own use case and `conf/`.

A project gets two things from here:

- **fixtures** (`fixtures.py`, a pytest plugin this package registers, loaded in any
  pytest session where goldenpath is installed): the project's `use_case`, `contract`
  and `project_root`; `orders`, labelled rows drawn from the contract; `model_dir`, a
  small fitted model saved as the pipeline saves a champion; `model_set`, the same with
  a segment's own model; and a session-wide PREDICTION_LOG in a temporary folder, so
  that no test writes into the project. A project's own tests can use them too.
- **suites** (`suites/`): test classes a project's `tests/test_goldenpath.py` imports
  (`from goldenpath.testing.suites import *`), so that pytest collects them there. Each
  is derived from the contract and the project's files, never from the example data:
  adding a feature or a model config needs no test edits.

| suite | what it checks |
|---|---|
| `TestContract` | the example is valid, samples honour the contract, violations are reported |
| `TestConf` | every `conf/` option composes; every `conf/model/*.yaml` fits, saves, loads, serves |
| `TestDvcYaml` | `dvc.yaml` is exact: goldenpath jobs, the project files and params they read |
| `TestPipeline` | `dvc.yaml`'s stages, run in order on the contract's samples, give a champion |
| `TestService` | the service answers the contract, documents it, predicts as the pipeline |
| `TestApi` | the API as clients meet it (or SERVICE_URL's): malformed requests, fuzzing |
| `TestMonitoring` | drift checks: none on the contract's own rows, a moved segment named |

The runtime's own machinery (batching, stores, metrics, API hardening) is tested in the
runtime's repository, not in every project: TestApi meets it only as the project's
contract is served, in-process or at SERVICE_URL.
"""
