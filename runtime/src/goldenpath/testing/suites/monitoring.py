"""TestMonitoring: the monitor's checks, with the project's thresholds (conf/monitor/).

A week drawn from the contract like the training data raises no alarm (no false
alarm with these thresholds on this contract); a week where one segment moved (one
feature at the top of its range, the target at its maximum, or a classifier's the
class it predicts least) raises it, naming the feature, the segment and its error. And
the Evidently UI's
image (compose/evidently/) installs the Evidently and pandas uv.lock pins: the UI reads
what the monitor writes.
"""

import re
import tomllib
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from ...core import model_io
from ...core.champion import ChampionRecord
from ...core.tasks import task_of

ROWS = 3000  # of each window, and of the reference


class TestMonitoring:
    @pytest.fixture(scope="class")
    @classmethod
    def judge(cls, params, use_case, model_dir):
        """A window's findings against a reference drawn from the contract."""
        from ...monitoring import checks
        from ...monitoring.store import PREDICTION, PROBABILITIES

        contract, by = use_case.contract, use_case.segment
        target = contract.target.name
        settings = params.monitor
        model = model_io.load_model(str(model_dir))
        task = task_of(contract)

        def predicted(table: pd.DataFrame) -> pd.DataFrame:
            """`table` with the model's predictions, as the log holds them."""
            scores = task.scores(model, table[contract.feature_names])
            logged = {PREDICTION: task.headline(scores)}
            if task.name == "multiclass":
                logged[PROBABILITIES] = scores.tolist()
            return table.assign(**logged)

        reference = predicted(contract.samples(ROWS, seed=11))
        scores = checks.logged_scores(reference, task)
        losses = pd.Series(task.losses(reference[target], scores), reference.index)
        by_segment = losses.groupby(reference[by]).mean().round(4).to_dict()
        baseline = {"prediction_mean": 0, "prediction_std": 1}
        baseline |= {f"{task.loss}_by_segment": by_segment}
        holdout = {task.loss: round(losses.mean(), 4)}
        record = ChampionRecord(
            use_case.name, "1", "r", holdout, "c", "f", "d", "", metric=task.loss
        )
        record = replace(record, baseline=baseline)

        def findings(live: pd.DataFrame) -> dict:
            _, found = checks.evaluate(predicted(live), reference, record, use_case, settings)
            return found

        return findings

    def test_a_window_like_the_training_data_raises_no_alarm(self, judge, contract) -> None:
        found = judge(contract.samples(ROWS, seed=12))
        assert not found["alarm"], found["failed"]

    def test_a_moved_segment_is_named_with_its_feature_and_error(
        self, judge, use_case, model_dir
    ) -> None:
        contract, by = use_case.contract, use_case.segment
        live = contract.samples(ROWS, seed=13)
        segment = str(live[by].iloc[0])
        numeric = next(f for f in contract.features if f.name in contract.numeric)
        here = live[by] == segment
        live.loc[here, numeric.name] = numeric.maximum  # every order of the segment at the top
        target = contract.target
        if contract.task == "regression":
            live.loc[here, target.name] = target.maximum  # and much later
        else:  # and each the class its model found least likely
            model = model_io.load_model(str(model_dir))
            scores = task_of(contract).scores(model, live.loc[here, contract.feature_names])
            if scores.ndim == 2:  # a multiclass model's: each row's least likely class
                least = np.array(target.categories, dtype=object)[scores.argmin(axis=1)]
            else:
                least = np.where(scores >= 0.5, target.categories[0], target.categories[-1])
            live.loc[here, target.name] = least
        found = judge(live)
        assert found["alarm"]
        assert numeric.name in found["moved"]["features"]
        assert found["moved"]["segments"] == [segment]
        assert segment in found["moved"]["error"]
        failed = [(f["check"], f["column"]) for f in found["failed"]]
        assert ("range", numeric.name) in failed, failed

    def test_the_evidently_ui_image_installs_what_uv_lock_pins(self, project_root) -> None:
        """The UI reads the snapshots `make monitor` writes: the same Evidently, the same pandas."""
        locked = {
            package["name"]: package["version"]
            for package in tomllib.loads((project_root / "uv.lock").read_text())["package"]
        }
        requirements = project_root / "compose" / "evidently" / "requirements.txt"
        pinned = dict(re.findall(r"^([\w-]+)==(\S+)$", requirements.read_text(), re.M))
        assert set(pinned) == {"evidently", "pandas"}
        assert pinned == {name: locked[name] for name in pinned}, (
            f"{requirements.relative_to(project_root)} differs from uv.lock: copy its versions"
        )
