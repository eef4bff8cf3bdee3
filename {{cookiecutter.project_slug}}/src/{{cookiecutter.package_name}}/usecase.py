"""The use case: what this project predicts. Edit this file to change it.

The machinery is the goldenpath runtime, which takes USE_CASE as a value (pyproject.toml
declares it): the contract drives validation, training, serving and monitoring; the
name is the registered model's. The data source and the model are configuration
(conf/data/, conf/model/).
"""

{% if cookiecutter.example == "late_delivery" -%}
from datetime import datetime

from goldenpath import Contract, Derived, Feature, UseCase

from . import features, synthetic
{% else -%}
from goldenpath import Contract, Feature, UseCase

from . import synthetic
{% endif %}
CONTRACT = Contract(
    features=(
        Feature("distance_km", "Restaurant to customer, road distance", float, 0.1, 30.0),
{%- if cookiecutter.example == "late_delivery" %}
        # nullable: not every restaurant announces one (null, or left out, in a request).
        Feature(
            "prep_time_min",
            "Restaurant's announced preparation time, where announced",
            float,
            1.0,
            90.0,
            nullable=True,
        ),
{%- else %}
        Feature("prep_time_min", "Restaurant's announced preparation time", float, 1.0, 90.0),
{%- endif %}
        Feature("items", "Number of items in the order", int, 1, 50),
{%- if cookiecutter.example == "late_delivery" %}
        # A time: the model takes its local hour and weekday, computed inside the model.
        Feature("ordered_at", "Local time of the order", datetime, calendar=("hour", "weekday")),
{%- else %}
        Feature("hour", "Local hour the order was placed", int, 0, 23),
        Feature("weekday", "Day of the week, Monday = 0", int, 0, 6),
{%- endif %}
        Feature("courier_load", "Active orders per available courier nearby", float, 0.0, 10.0),
        Feature(
            "city",
            "City of the restaurant",
            str,
            categories=("lisbon", "porto", "madrid", "barcelona", "milan"),
        ),
        Feature(
            "weather",
            "Weather when the order was placed",
            str,
            categories=("clear", "rain", "storm", "fog"),
        ),
{%- if cookiecutter.example == "late_delivery" %}
        # high_cardinality: too many to list; learnt from the table, any text in a request.
        Feature("restaurant_id", "The restaurant", str, high_cardinality=True),
        Feature("priority", "The customer paid for priority delivery", bool),
{%- endif %}
    ),
{%- if cookiecutter.example == "late_delivery" %}
    # A binary classification: the classes are the target's categories, the positive last.
    target=Feature(
        "late",
        "Delivered more than 45 minutes after the order",  # synthetic.py's PROMISED_MINUTES
        str,
        categories=("no", "yes"),
    ),
    task="binary",
{%- else %}
    target=Feature("delivery_minutes", "Minutes from order to delivery", float, 1.0, 240.0),
{%- endif %}
    key="order_id",
{%- if cookiecutter.example == "late_delivery" %}
    # Computed by the project's code (features.py), inside the model: never in a request.
    derived=(
        Derived(
            Feature("ride_minutes", "The ride at the weather's usual speed", float, 0.0, 200.0),
            features.ride_minutes,
        ),
    ),
{%- endif %}
    example={
        "distance_km": 3.2,
        "prep_time_min": 12.0,
        "items": 2,
{%- if cookiecutter.example == "late_delivery" %}
        "ordered_at": "2026-03-06T20:15:00",  # ISO 8601: a Friday, 20:15
{%- else %}
        "hour": 20,
        "weekday": 4,
{%- endif %}
        "courier_load": 1.4,
        "city": "lisbon",
        "weather": "rain",
{%- if cookiecutter.example == "late_delivery" %}
        "restaurant_id": "r0042",
        "priority": False,
{%- endif %}
    },
)


USE_CASE = UseCase(
    name="{{ cookiecutter.model_name }}",
    experiment="{{ cookiecutter.project_slug }}",
    contract=CONTRACT,
    segment="city",
    title={{ cookiecutter.project_name | tojson }},
    example_data=synthetic.generate_orders,  # data.source: synthetic (conf/data/)
    scenarios=synthetic.WEEKS,  # make simulate WEEK=normal|changed
)
