"""The project's feature code: features the model takes that the rows do not carry.

Each function takes the validated rows (a DataFrame of the contract's features) and
gives one value per row; usecase.py declares what it gives (`Derived`). The model
computes them itself, as its first step: training, the service, batch scoring and the
monitor run this code, and no other. The model records the version of this code (and of
the project's modules it imports; not of comments or docstrings): edit it, and `make
repro` trains a model with the new code before any serves (a model trained with another
version is refused where it loads).
{%- if cookiecutter.example != "late_delivery" %}

None yet. A feature such as a ride's minutes at the weather's usual speed is a
function here:

    import pandas as pd

    SPEED_KMH = {"clear": 18.0, "rain": 15.0, "storm": 11.0, "fog": 16.0}

    def ride_minutes(rows: pd.DataFrame) -> pd.Series:
        return rows["distance_km"] / rows["weather"].map(SPEED_KMH) * 60

declared in usecase.py as `Contract(..., derived=(Derived(Feature("ride_minutes",
"The ride at the weather's usual speed", float, 0.0, 200.0), features.ride_minutes),))`
(`from goldenpath import Derived`; `from . import features`), and listed in dvc.yaml
wherever usecase.py is (`make test` names the stages). It changes the model's inputs:
`make repro` trains a champion that takes it.
{%- endif %}
"""
{%- if cookiecutter.example == "late_delivery" %}

import pandas as pd

# A courier's usual speed in each weather (usecase.py's weather categories), km/h: what a
# ride takes before traffic. 30 km (distance_km's maximum) in a storm is 164 minutes,
# within ride_minutes' declared 200.
SPEED_KMH = {"clear": 18.0, "rain": 15.0, "storm": 11.0, "fog": 16.0}


def ride_minutes(rows: pd.DataFrame) -> pd.Series:
    """The ride from restaurant to customer at the weather's usual speed, in minutes."""
    return rows["distance_km"] / rows["weather"].map(SPEED_KMH) * 60
{%- endif %}
