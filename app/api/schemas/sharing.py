"""Request and reply bodies of ``app/api/sharing.py``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.services import sharing


class ShareRequest(BaseModel):
    days: int = Field(
        sharing.DEFAULT_SHARE_DAYS,
        ge=1,
        le=sharing.MAX_SHARE_DAYS,
        description="How long the link works",
    )


class ShareReply(BaseModel):
    id: str = Field(
        description="the share's id, for DELETE /credentials/{credential_id}/shares/{share_id}"
    )
    url: str = Field(
        description="the link to give the learner (an absolute URL holding a secret token); "
        "shown only in this reply"
    )
    expiresAt: datetime = Field(description="when the link stops working (ISO 8601 date-time, UTC)")


class PublicPage(BaseModel):
    enabled: bool = Field(
        description="true: the credential's public page (/v/{uuid}) is served; false: it "
        "answers 404"
    )


class BrandingReply(BaseModel):
    colour: str | None = Field(
        description="the issuer's colour, `#rrggbb` in lower case; null when none was set (the "
        "service's default colour is used)"
    )
    logo: str | None = Field(description="Where the logo is served, when there is one")
    publicPages: bool = Field(
        description="whether the issuer's credentials have public pages (false switches them "
        "all off)"
    )
