"""After serving: every prediction logged, compared with what the model learnt from, alarms.

The loop: the service logs each prediction (`live.py`: log.py writes to store.py's
store, metrics.py counts for Prometheus); outcomes arrive later (`outcomes.py`);
`make monitor` (monitor.py) compares a window of the log with the served model's
training data and its holdout errors, and fails when something moved; a retrain
(`make retrain`) answers. `simulate.py` replays a week of orders to see it work.
"""
