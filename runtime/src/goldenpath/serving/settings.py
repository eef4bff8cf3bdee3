"""The service's settings: environment variables, validated once when it starts.

A bad value stops the service with one line naming the variable, before
anything loads (README, Serving, lists them all).
"""

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..core.problems import Problem

MAX_ORDERS = 1000  # orders in one request


class BadSetting(Problem):
    pass


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    host: str = Field("127.0.0.1", alias="HOST", min_length=1)
    port: int = Field(8000, alias="PORT", ge=0, le=65535)
    workers: int = Field(1, alias="WORKERS", ge=1)
    access_log: bool = Field(False, alias="ACCESS_LOG")
    batch_max_orders: int = Field(256, alias="BATCH_MAX_ORDERS", ge=1)
    batch_max_wait_ms: float = Field(1.0, alias="BATCH_MAX_WAIT_MS", ge=0, le=1000)
    # Orders waiting for the model at most; beyond, /predict answers 503 at once.
    max_queued_orders: int = Field(2000, alias="MAX_QUEUED_ORDERS", ge=MAX_ORDERS)
    body_timeout_s: float = Field(10.0, alias="BODY_TIMEOUT_S", gt=0, le=300)
    # 16 visible ASCII characters or more, e.g. from secrets.token_urlsafe()
    api_key: str | None = Field(None, alias="SERVE_API_KEY", pattern=r"^[!-~]{16,}$")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "Settings":
        names = [field.alias for field in cls.model_fields.values()]
        given = {name: environ[name] for name in names if environ.get(name, "") != ""}
        try:
            return cls.model_validate(given)
        except ValidationError as error:
            problems = [_explain(e, given) for e in error.errors(include_url=False)]
            raise BadSetting("; ".join(problems)) from None


def _explain(error: dict, given: Mapping[str, str]) -> str:
    name = str(error["loc"][0])
    # A secret is never echoed, not even in an error message.
    value = "(hidden)" if name == "SERVE_API_KEY" else repr(given.get(name))
    if error["type"] == "string_pattern_mismatch":
        return f"{name}={value}: use at least 16 visible ASCII characters, no spaces"
    return f"{name}={value}: {error['msg']}"
