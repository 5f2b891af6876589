"""A presentation's challenge: our single-use one is consumed once the proof has been shown to
carry it; one we did not issue is the caller's to judge (a warning)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.crypto.dataintegrity import VerifyResult
from app.crypto.errors import InvalidChallengeError
from app.problems import CHALLENGE_NOT_CHECKED
from app.services import challenges
from app.services.verification.results import ChallengeCheck, Verification, from_error, problem


async def check_challenge(
    sessionmaker: async_sessionmaker[AsyncSession],
    challenge: str | None,
    proofs: VerifyResult,
    now: datetime,
    report: Verification,
) -> ChallengeCheck:
    """Consume our single-use challenge once the proof has been shown to carry it."""
    if challenge is None:
        report.warnings.append(
            problem(
                CHALLENGE_NOT_CHECKED,
                "no challenge was given: nothing protects against a replayed presentation",
            )
        )
        return {"verified": None, "state": None}
    if not proofs.verified:
        return {"verified": False, "state": None}
    state = await challenges.consume_and_commit(sessionmaker, challenge, now=now)
    if state == "unknown":
        report.warnings.append(
            problem(
                CHALLENGE_NOT_CHECKED,
                "the challenge was not issued by this service (POST /challenges): "
                "its freshness is the caller's to check",
            )
        )
        return {"verified": True, "state": state}
    if state != "accepted":
        reason = "was used before: it is single-use" if state == "used" else "has expired"
        error = InvalidChallengeError(f"the challenge {reason}")
        report.errors.append(from_error(error, "/proof"))
    return {"verified": state == "accepted", "state": state}
