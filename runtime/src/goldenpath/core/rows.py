"""Row by row against the contract: which rows of a batch can be predicted, and why not the rest.

`Contract.validate` refuses a training table for one bad row; batch scoring cannot:
each row that breaks the contract is set aside with its reasons, the others are taken
as the service's request model would take them (a number a number, an int whole, in
range, a category one of the contract's) and typed as `Contract.frame` types them, so
that a row scores exactly as the service would predict it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import timestamps
from .contract import Contract, Feature
from .derived import refusals
from .feature import MAX_TEXT
from .modeling import KnownValues
from .validation import as_boolean, as_id

REASON = "reject_reason"  # the rejected rows' column that says why
MAX_KEY = 2**63 - 1  # what the service's key takes (a Postgres bigint)


@dataclass(frozen=True)
class CheckedRows:
    scorable: pd.DataFrame  # the key and the features of the rows that pass, typed
    rejected: pd.DataFrame  # the rows that do not, as read, and their REASON


UNSEEN_WHY = "is a value the model never saw in training (unseen='refuse')"


def check_rows(
    contract: Contract, batch: pd.DataFrame, known: KnownValues | None = None
) -> CheckedRows:
    """`batch` (the key, every feature and the passthrough columns, as read) split into
    scorable and rejected rows.

    `known`: the values the models learnt of each feature of unseen="refuse", the only
    ones each takes (modeling.known_values)."""
    typed: dict[str, Any] = {}
    reasons = pd.Series("", index=batch.index, dtype=object)

    def refuse(mask: pd.Series, column: str, why: Callable[[Any], str]) -> None:
        if mask.any():
            where = mask[mask].index
            texts = pd.Series([why(value) for value in batch.loc[where, column]], index=where)
            joined = reasons[where].where(reasons[where] == "", reasons[where] + "; ")
            reasons[where] = joined + texts

    key, missing = _numbers(batch[contract.key])
    refuse(missing, contract.key, lambda _: f"{contract.key} is missing")
    broken = key.isna() & ~missing
    refuse(broken, contract.key, lambda v: f"{contract.key} {_shown(v)} is not a number")
    outside = key.notna() & ((key % 1 != 0) | (key < 0) | (key > MAX_KEY))
    refuse(outside, contract.key, lambda v: f"{contract.key} {_shown(v)} is not a whole number ≥ 0")
    for feature in contract.features:
        typed[feature.name] = _check_feature(feature, batch[feature.name], refuse)
        if known and feature.name in known.main:
            values = typed[feature.name]
            new = (values.notna() & ~values.isin(known.main[feature.name])).astype(bool)
            for value, learnt in known.own.items():  # a segment's rows, by its own model's
                mine = (batch[known.segment] == value).to_numpy(dtype=bool)
                seen = values[mine].isin(learnt[feature.name]).to_numpy(dtype=bool)
                new[mine] = values[mine].notna().to_numpy(dtype=bool) & ~seen
            refuse(new, feature.name, lambda v, n=feature.name: f"{n} {_shown(v)} {UNSEEN_WHY}")
    passed = reasons == ""
    if contract.derived and passed.any():  # what the feature code gives no value
        given = pd.DataFrame(
            {
                f.name: typed[f.name][passed].to_numpy(dtype=f.column_dtype)
                for f in contract.features
            },
            index=batch.index[passed],
        )
        reasons.loc[given.index] = refusals(given, contract.derived)  # these had no reason yet
        passed = reasons == ""
    copied = {name: batch.loc[passed, name].to_numpy() for name in contract.passthrough}
    scorable = pd.DataFrame(
        {contract.key: key[passed].astype(np.int64)}
        | copied
        | {
            feature.name: typed[feature.name][passed].to_numpy(dtype=feature.column_dtype)
            for feature in contract.features
        }
    )
    rejected = batch.loc[~passed].astype("string").assign(**{REASON: reasons[~passed]})
    return CheckedRows(scorable.reset_index(drop=True), rejected.reset_index(drop=True))


def _check_feature(feature: Feature, raw: pd.Series, refuse) -> pd.Series:
    """`raw` as the feature's values (a missing one as None, or a number's NaN, where the
    feature is nullable); each row that breaks the feature refused."""
    name = feature.name

    def refuse_missing(missing: pd.Series) -> None:
        if not feature.nullable:
            refuse(missing, name, lambda _: f"{name} is missing")

    if feature.is_timestamp:
        missing = raw.isna()
        refuse_missing(missing)
        values = timestamps.parsed(raw)
        valid = f"({timestamps.VALID})"
        refuse(
            ~missing & values.isna(), name, lambda v: f"{name} {_shown(v)} is not a time {valid}"
        )
        return values
    if feature.is_categorical:
        missing = raw.isna()
        refuse_missing(missing)
        values = raw.astype(object).where(~missing, None)
        if feature.dtype is bool:  # true or false (or the text of one), never a number
            values = values.map(as_boolean)  # None stays None
            wrong = ~missing & ~values.map(lambda value: isinstance(value, bool))
            refuse(wrong, name, lambda v: f"{name} {_shown(v)} is not true or false")
        elif feature.high_cardinality:  # any text (a CSV's 123 is the id "123"), not too long
            values = values.map(as_id, na_action="ignore").where(~missing, None)
            long = ~missing & (values.str.len() > MAX_TEXT)
            refuse(long, name, lambda v: f"{name} is longer than {MAX_TEXT} characters")
        else:
            unknown = ~missing & ~values.isin(feature.categories)
            known = _listed(feature.categories)
            refuse(unknown, name, lambda v: f"{name} {_shown(v)} is not one of {known}")
        return values
    values, missing = _numbers(raw)
    refuse_missing(missing)
    refuse(values.isna() & ~missing, name, lambda v: f"{name} {_shown(v)} is not a number")
    if feature.dtype is int:
        fraction = values.notna() & (values % 1 != 0)
        refuse(fraction, name, lambda v: f"{name} {_shown(v)} is not a whole number")
    low, high = feature.minimum, feature.maximum
    outside = values.notna() & ((values < low) | (values > high))
    refuse(outside, name, lambda v: f"{name} {_shown(v)} is outside [{low:g}, {high:g}]")
    return values


def _listed(categories: tuple[str, ...], shown: int = 6) -> str:
    """The contract's categories as a reason names them: all of a few, some of many."""
    if len(categories) <= shown:
        return ", ".join(map(repr, categories))
    first = ", ".join(map(repr, categories[: shown - 1]))
    return f"{first}, … ({len(categories):,} in all: usecase.py)"


def _numbers(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """`raw` as floats (NaN where it is no number), and where it is missing.

    A column of booleans holds no numbers (the request model refuses them), nor does
    infinity; text (a CSV's) is read as the numbers it spells.
    """
    missing = raw.isna()
    if pd.api.types.is_bool_dtype(raw):
        return pd.Series(np.nan, index=raw.index), missing
    if pd.api.types.is_numeric_dtype(raw):
        values = raw.astype(np.float64)
    else:
        values = pd.to_numeric(raw.astype(object), errors="coerce").astype(np.float64)
    return values.where(np.isfinite(values)), missing


def _shown(value: Any) -> str:
    """A value as a reason shows it: a number plainly (99, whether 99.0 or a CSV's "99.0"),
    other text quoted."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return repr(value)
    return f"{value:g}" if isinstance(value, float | np.floating) else str(value)
