"""HTTP parameters every service that takes commands reads the same way."""

from typing import Annotated

from fastapi import Header, Query

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Repeat a request with the same key and it returns the first result.",
    ),
]
Month = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
