"""A feature: one column of the contract, what a valid value of it is.

Refused when usecase.py loads, in one line, is what a later stage would crash on.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import timestamps
from .problems import Problem

BOOLEAN = (False, True)  # a bool feature's categories
UNSEEN = ("other", "refuse")  # what becomes of a high-cardinality value training never saw
MAX_TEXT = 200  # characters of a high-cardinality value (an id), in a table or a request


class InvalidContract(Problem, ValueError):
    """The contract contradicts itself, or asks for what the runtime cannot do (usecase.py)."""


@dataclass(frozen=True)
class Feature:
    name: str
    description: str
    dtype: type  # int, float, str, bool or datetime
    minimum: float | None = None
    maximum: float | None = None
    categories: tuple[Any, ...] = ()  # a str's values; a bool's are (False, True)
    nullable: bool = False  # whether a value may be missing (null, or left out of a request)
    # A str whose values are too many to list (an id with thousands): learnt from the
    # training rows, target-encoded; a value training never saw is taken as "any other"
    # (unseen="other"), or refused: a 422 from the service, a reject in batch scoring.
    high_cardinality: bool = False
    unseen: str = "other"  # a high-cardinality value training never saw: "other" or "refuse"
    # A datetime's parts the model takes (timestamps.CALENDAR), not the time itself.
    calendar: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Refuse, when usecase.py loads, what a later stage would crash on."""
        what = f"feature {self.name!r} (usecase.py)"
        if self.unseen not in UNSEEN or (self.unseen != "other" and not self.high_cardinality):
            raise InvalidContract(
                f"{what} has unseen={self.unseen!r}: a str of high_cardinality=True takes"
                f" unseen= one of {list(UNSEEN)} (a value training never saw: any other, or"
                " refused)"
            )
        if self.dtype is datetime:
            self._check_timestamp(what)
            return
        if self.calendar:
            raise InvalidContract(f"{what} has calendar parts: only a datetime has them")
        if self.high_cardinality:
            if self.dtype is not str or self.categories:
                raise InvalidContract(
                    f"{what} is high_cardinality: make it a str without categories (its values"
                    " are learnt from the training rows)"
                )
            return
        if self.dtype not in (int, float, str, bool):
            raise InvalidContract(
                f"{what} has dtype {self.dtype!r}: give int, float, str, bool or datetime"
            )
        if self.dtype is bool:  # a category of two values, true or false, and nothing else
            bounded = self.minimum is not None or self.maximum is not None
            if self.categories not in ((), BOOLEAN) or bounded:  # BOOLEAN: replace() gives it
                raise InvalidContract(f"{what} is a bool: give it no bounds and no categories")
            object.__setattr__(self, "categories", BOOLEAN)
            return
        if self.dtype is str:
            if not self.categories:
                raise InvalidContract(
                    f"{what} is a str without categories: list its values in categories=(...),"
                    " or, for too many to list (an id), give high_cardinality=True"
                )
            if len(set(self.categories)) != len(self.categories):
                raise InvalidContract(f"{what} lists a category twice: list each once")
            return
        if self.categories:
            raise InvalidContract(
                f"{what} is a number with categories: make it a str, or drop them"
            )
        if self.minimum is None or self.maximum is None or not self.minimum < self.maximum:
            raise InvalidContract(
                f"{what} needs a minimum below its maximum (given {self.minimum}, "
                f"{self.maximum}): the bounds a valid value lies within, e.g."
                f' Feature({self.name!r}, "...", {self.dtype.__name__}, 0, 10)'
            )

    def _check_timestamp(self, what: str) -> None:
        bounded = self.minimum is not None or self.maximum is not None
        if bounded or self.categories or self.high_cardinality:
            raise InvalidContract(
                f"{what} is a datetime: give it no bounds and no categories, and calendar=(...)"
                f" the parts the model takes, of {list(timestamps.CALENDAR)}"
            )
        if unknown := [part for part in self.calendar if part not in timestamps.CALENDAR]:
            raise InvalidContract(
                f"{what} has calendar parts {unknown}: give parts of {list(timestamps.CALENDAR)}"
            )
        if len(set(self.calendar)) != len(self.calendar):
            raise InvalidContract(f"{what} names a calendar part twice: name each once")
        object.__setattr__(self, "calendar", self.calendar or timestamps.DEFAULT_CALENDAR)

    @property
    def is_timestamp(self) -> bool:
        return self.dtype is datetime

    @property
    def is_categorical(self) -> bool:
        """Whether its values are categories: listed, a bool's, or learnt (high_cardinality)."""
        return bool(self.categories) or self.high_cardinality

    @property
    def column_dtype(self) -> type:
        """The dtype of its column in the table the model takes: a category's values are
        objects; a number that may be missing is a float (NaN where it is)."""
        if self.is_categorical:
            return object
        if self.is_timestamp:
            return timestamps.DTYPE
        return float if self.nullable else self.dtype
