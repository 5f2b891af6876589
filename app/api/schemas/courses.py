"""Request and reply bodies of ``app/api/courses.py``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class CourseReply(BaseModel):
    """A course version: its metadata and its content (the fields of the course body)."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(description="the course's id (a URL path segment), as in /courses/{id}")
    version: int = Field(description="this version's number")
    currentVersion: int = Field(description="the course's latest version number (from 1)")
    frozen: bool = Field(description="credentials were issued from this version: edits make N+1")
    published: bool = Field(
        description="whether the course is listed in the public course catalogue"
    )
    publicUrl: str = Field(description="this version's stable public page (its credentials' link)")
    createdAt: datetime = Field(
        description="when this version was created (ISO 8601 date-time, UTC)"
    )
    updatedAt: datetime = Field(
        description="when this version was last edited (ISO 8601 date-time, UTC)"
    )


class CourseListReply(BaseModel):
    items: list[CourseReply] = Field(
        description="the calling issuer's courses, each at its current version"
    )
