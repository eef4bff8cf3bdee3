"""TestConf: every option of the project's `conf/` composes, and every model config works.

Each option of each group (`data=sample`, `experiment=ci`, ...) composes into valid
parameters; `dvc repro` (the compose stage) and `dvc exp run` compose the same
params.yaml; and each `conf/model/*.yaml`, with and without `train.log_target`, builds
on the contract, fits on its samples, saves and loads under the trust rules the train
stage and the service apply, and is served on one thread through the lean predict. A
model config that does not fit the use case's task (a regressor for a classification),
or a log target for a classifier, is refused by name, as the compose stage refuses it.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ...core import model_io
from ...core.contract import Contract
from ...core.modeling import build_model
from ...core.params import compose_params, parse_params
from ...core.tasks import TaskMismatch, task_of
from ..fixtures import conf_dir, conf_options


class TestConf:
    def test_every_option_gives_valid_parameters(self, project_root, conf_option: str) -> None:
        params = parse_params(compose_params(conf_dir(project_root), [conf_option]))
        params.model.check()

    def test_compose_writes_what_dvc_exp_run_writes(self, project_root, tmp_path: Path) -> None:
        """`dvc repro` (the compose stage) and `dvc exp run` must agree on params.yaml."""
        from dvc.utils.hydra import compose_and_dump

        conf = conf_dir(project_root)
        variants = [[]] + [
            [f"experiment={name}"] for name in conf_options(project_root, "experiment")
        ]
        for overrides in variants:
            compose_and_dump(tmp_path / "params.yaml", str(conf), None, "config", "", overrides)
            assert (tmp_path / "params.yaml").read_text() == compose_params(conf, overrides)

    @pytest.mark.parametrize("log_target", [False, True], ids=["target", "log_target"])
    def test_every_model_config_fits_saves_loads_and_is_served(
        self,
        project_root,
        model_config: str,
        log_target: bool,
        contract: Contract,
        orders: pd.DataFrame,
        tmp_path: Path,
    ) -> None:
        from ...serving.predictor import TOLERANCE, lean_predictor

        params = parse_params(compose_params(conf_dir(project_root), [f"model={model_config}"]))
        params.model.check()
        task = task_of(contract)
        if log_target and task.is_classification:
            with pytest.raises(TaskMismatch, match="a log target is for a regression"):
                build_model(contract, params.model, log_target=log_target)
            return
        try:
            pipeline = build_model(contract, params.model, log_target=log_target)
        except TaskMismatch as mismatch:
            pytest.fail(f"conf/model/{model_config}.yaml: {mismatch}, or delete it")
        features = orders[contract.feature_names]
        pipeline.fit(features, orders[contract.target.name])
        trusted = model_io.trusted_types(pipeline, params.model.library, params.train.trusted_types)
        model_io.save_model(pipeline, tmp_path / "model", trusted, {}, features)
        loaded = model_io.load_model(str(tmp_path / "model"))  # as the service loads it
        # Parallel models (n_jobs) sum in any order: equal to the last few bits.
        expected = task.outputs(pipeline, features)
        np.testing.assert_allclose(task.outputs(loaded, features), expected, rtol=1e-12)

        served = model_io.single_threaded(loaded)
        threads = {k: v for k, v in served.get_params(deep=True).items() if k.endswith("n_jobs")}
        assert set(threads.values()) <= {1}, f"served on more than one thread: {threads}"
        predictor = lean_predictor(served, contract)
        assert predictor.lean, f"model={model_config} is served through the slow pipeline path"
        rows = contract.served(features)  # as the service hands them to the model
        assert predictor.predict(rows) == pytest.approx(expected, abs=TOLERANCE, rel=1e-12)
