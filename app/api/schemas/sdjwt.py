"""Request and reply bodies of ``app/api/sdjwt.py``."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class DisclosurePolicyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    selectable: (
        Annotated[list[Annotated[str, StringConstraints(max_length=64)]], Field(max_length=64)]
        | None
    ) = Field(
        description="the SD-JWT VC claims a holder may leave out; null for the default "
        "(the learner's personal data and the grade)"
    )


class DisclosurePolicyReply(BaseModel):
    selectable: list[str] = Field(description="the SD-JWT VC claims a holder may leave out, sorted")
    default: bool = Field(description="whether this is the service's default policy")
    always: list[str] = Field(description="claims always disclosed")
