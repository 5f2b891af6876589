"""Request and reply bodies of ``app/api/vocabularies.py``."""

from __future__ import annotations

from pydantic import BaseModel, Field


class VocabularyConcept(BaseModel):
    id: str = Field(description="The concept URI: the value stored in issued credentials.")
    notation: str = Field(
        description="The last segment of the URI; accepted in requests in place of the URI."
    )
    prefLabel: dict[str, str] = Field(
        description="The concept's name, by language (ISO 639-1); English in this release."
    )
    shortName: str | None = Field(
        description="The English name in lower case with hyphens, accepted in requests in place "
        "of the URI; null when two concepts of the scheme share it."
    )
    aliases: list[str] = Field(
        description="Other codes accepted in requests for this concept (e.g. ISO 639-1 `en` "
        "for a language, ISO 3166-1 alpha-2 `IE` for a country, `ects` for a credit system)."
    )


class VocabularyReply(BaseModel):
    scheme: str = Field(description="The key of the scheme in this API, e.g. `eqf`.")
    conceptScheme: str = Field(description="The URI of the concept scheme (EU Vocabularies).")
    description: str = Field(description="What the scheme holds.")
    concepts: list[VocabularyConcept] = Field(description="Every concept of the scheme.")


class VocabularySummary(BaseModel):
    scheme: str = Field(description="The key of the scheme, for `GET /vocabularies/{scheme}`.")
    conceptScheme: str = Field(description="The URI of the concept scheme (EU Vocabularies).")
    description: str = Field(description="What the scheme holds.")
    concepts: int = Field(description="How many concepts the scheme has.")
    href: str = Field(description="The path of the scheme's concept list.")


class VocabularyListReply(BaseModel):
    vocabularies: list[VocabularySummary] = Field(description="Every scheme this service knows.")
