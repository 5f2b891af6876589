"""Settings from the environment (``MICROCRED_`` prefix), read once into a frozen object."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.resources import CONTEXTS_DIR

#: The development settings file (admin token, master key, MICROCRED_ENV=development) that
#: ``make run`` creates and the ``microcred`` command reads, in the working directory.
DEV_SECRETS_FILENAME = ".env.local"
#: Where the embedded SQLite database goes unless MICROCRED_DATA_DIR says otherwise: ``data``
#: in the working directory (never inside the installed package).
DEFAULT_DATA_DIR = Path("data")
MIN_ADMIN_TOKEN_LENGTH = 32
#: The longest an OpenID4VCI offer may stay valid: 30 days.
OFFER_TTL_MAX = 30 * 86_400


class ConfigurationError(RuntimeError):
    """The environment does not describe a service that can start."""


def decode_master_key(value: str) -> bytes:
    """Decode a base64url (no padding) 32-byte master key."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("MICROCRED_MASTER_KEY is not base64url") from exc
    if len(raw) != 32:
        raise ValueError("MICROCRED_MASTER_KEY must decode to exactly 32 bytes")
    return raw


def new_master_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


class TrustRegistry(BaseModel):
    """One issuer registry a verdict consults (``MICROCRED_TRUST_REGISTRIES``, a JSON list)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["dcc", "ebsi"]
    url: str = Field(pattern=r"^https?://", max_length=2048)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MICROCRED_", frozen=True, extra="ignore")

    env: Literal["production", "development"] = "production"
    #: the service's own files (the embedded SQLite database); made absolute when read, so every
    #: worker process agrees on it
    data_dir: Path = DEFAULT_DATA_DIR
    #: SQLAlchemy URL; the default is an SQLite file in ``data_dir``
    database_url: str = Field(
        default_factory=lambda data: f"sqlite+aiosqlite:///{data['data_dir'] / 'microcred.db'}"
    )
    admin_token: SecretStr | None = None
    master_key: SecretStr | None = None
    public_url: str = "http://127.0.0.1:8000"
    allow_private_network: bool = False
    contexts_dir: Path = CONTEXTS_DIR
    # RDF canonicalization: "oxigraph" (pyoxigraph where shown equal to pyld, pyld for the rest;
    # refuses datasets above the two sizes, RDFC-1.0 having no work limit) or "pyld" alone.
    canonicalizer: Literal["oxigraph", "pyld"] = "oxigraph"
    canonical_max_quads: int = Field(default=20_000, ge=1)
    canonical_max_blank_nodes: int = Field(default=2_000, ge=0)
    # Large documents (from offload_min_values JSON values on) are canonicalized and validated
    # against the EDC shapes in worker processes, off the event loop (app/services/offload.py):
    # at most offload_workers at a time per service process (0: all inline), each one stopped
    # after offload_timeout_seconds.
    offload_workers: int = Field(default=1, ge=0, le=64)
    offload_min_values: int = Field(default=2_500, ge=1)
    offload_timeout_seconds: float = Field(default=10.0, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: requests a minute per issuer API key, and per client address on public POST endpoints
    #: (0 turns a limit off); shared by every instance on PostgreSQL, per process on SQLite
    rate_limit_per_key_per_minute: int = Field(default=6000, ge=0)
    rate_limit_public_per_minute: int = Field(default=600, ge=0)
    #: Redis for the rate limits (``redis://host:6379/0``, ``rediss://…`` for TLS): shared by
    #: every instance naming it, on any database; its keys start with ``redis_prefix``
    redis_url: SecretStr | None = None
    redis_prefix: str = Field(default="microcred:", pattern=r"^[A-Za-z0-9:._-]{0,64}$")
    #: browser origins allowed to call the API (CORS is closed when empty)
    cors_origins: tuple[str, ...] = ()
    # Bitstring Status Lists: never fewer than 131,072 entries (the specification's minimum).
    status_list_size: int = Field(default=131_072, ge=131_072, le=8 * 131_072 * 64)
    status_list_fill_limit: float = Field(default=0.75, gt=0, le=0.9)
    status_list_ttl_seconds: int = Field(default=300, ge=10, le=86_400)
    # Limits on what callers may send and what we fetch.
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    http_timeout_seconds: float = Field(default=5.0, gt=0)
    http_max_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Verification: did:web documents are cached this long; "http" (did:web over plain http)
    # only together with allow_private_network, for loopback tests and closed networks.
    did_web_scheme: Literal["https", "http"] = "https"
    did_web_cache_seconds: int = Field(default=300, ge=0, le=86_400)
    challenge_ttl_seconds: int = Field(default=300, ge=10, le=3_600)
    # Issuer trust: registries consulted after the service's own list (most authoritative
    # first), and whether an issuer nobody vouches for fails verification by default.
    trust_registries: tuple[TrustRegistry, ...] = ()
    trust_required: bool = False
    # OpenID4VCI wallet delivery. An offer (its pre-authorized code) may stay valid for days,
    # up to OFFER_TTL_MAX (a cohort e-mailed its offers, learners redeeming over a week): the
    # code is single use and a bearer secret until then, so long offers should carry a PIN
    # (txCode). Bearer access tokens above five minutes count as long-lived ("Protecting the
    # Access Token").
    oid4vci_offer_ttl_seconds: int = Field(default=600, ge=60, le=OFFER_TTL_MAX)
    oid4vci_token_ttl_seconds: int = Field(default=300, ge=30, le=300)
    oid4vci_nonce_ttl_seconds: int = Field(default=300, ge=30, le=900)
    oid4vci_tx_code_max_attempts: int = Field(default=5, ge=1, le=10)
    # Joint credentials (POST /joint-credentials): how long a draft waits for its awarding
    # bodies' proofs before it can no longer be signed (a week by default).
    joint_draft_ttl_seconds: int = Field(default=7 * 86_400, ge=60, le=90 * 86_400)
    # OpenID4VP: how long a presentation request (its nonce and state) waits for the wallet.
    presentation_request_ttl_seconds: int = Field(default=600, ge=30, le=3_600)
    # Background jobs (app/services/jobs.py): every service process runs a job runner unless
    # jobs_runner is false (then only `microcred worker` processes run jobs). A runner that
    # stops renewing its lease for jobs_lease_seconds (it died) loses the job to another.
    jobs_runner: bool = True
    jobs_poll_seconds: float = Field(default=2.0, gt=0, le=60)
    jobs_lease_seconds: int = Field(default=60, ge=5, le=3_600)

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("MICROCRED_PUBLIC_URL must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            if not value.get_secret_value().startswith(("redis://", "rediss://", "unix://")):
                raise ValueError(
                    "MICROCRED_REDIS_URL must start with redis://, rediss:// or unix://"
                )
        return value

    @field_validator("master_key")
    @classmethod
    def _check_master_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            decode_master_key(value.get_secret_value())
        return value

    @field_validator("admin_token")
    @classmethod
    def _check_admin_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_ADMIN_TOKEN_LENGTH:
            raise ValueError(
                f"MICROCRED_ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_LENGTH} characters"
            )
        return value

    @model_validator(mode="after")
    def _plain_http_only_on_private_networks(self) -> Settings:
        if self.did_web_scheme == "http" and not self.allow_private_network:
            raise ValueError(
                "MICROCRED_DID_WEB_SCHEME=http needs MICROCRED_ALLOW_PRIVATE_NETWORK=true "
                "(plain http is for loopback tests and closed networks)"
            )
        return self

    @model_validator(mode="after")
    def _secrets_required_in_production(self) -> Settings:
        if self.env == "production":
            missing = [
                name
                for name, value in (
                    ("MICROCRED_MASTER_KEY", self.master_key),
                    ("MICROCRED_ADMIN_TOKEN", self.admin_token),
                )
                if value is None
            ]
            if missing:
                raise ValueError(
                    f"{' and '.join(missing)} must be set in production "
                    "(or set MICROCRED_ENV=development for a local trial)"
                )
        return self

    @property
    def master_key_bytes(self) -> bytes:
        if self.master_key is None:
            raise ConfigurationError("MICROCRED_MASTER_KEY is not set")
        return decode_master_key(self.master_key.get_secret_value())

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings() -> Settings:
    """Build settings, turning validation failures into one readable message."""
    try:
        return Settings()
    except ValidationError as exc:
        reasons = "; ".join(str(err["msg"]).removeprefix("Value error, ") for err in exc.errors())
        raise ConfigurationError(f"invalid configuration: {reasons}") from None


@lru_cache
def get_settings() -> Settings:
    return load_settings()


def dev_secrets_file() -> Path:
    """``.env.local`` in the working directory (the checkout's root under ``make run``)."""
    return Path.cwd() / DEV_SECRETS_FILENAME


def load_development_settings(path: Path) -> bool:
    """Load ``MICROCRED_*`` lines of ``path`` into the environment; whether the file exists.

    The environment wins over the file. A file written before it named ``MICROCRED_ENV`` (only
    ``make run`` writes it) still means development.
    """
    if not path.is_file():
        return False
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip().startswith("MICROCRED_"):
            os.environ.setdefault(name.strip(), value.strip())
    os.environ.setdefault("MICROCRED_ENV", "development")
    get_settings.cache_clear()
    return True


def ensure_development_secrets(path: Path | None = None) -> bool:
    """In development, make (once) and load a local admin token and master key.

    The secrets go into an ignored file in the working directory so a newcomer can act at once,
    with ``MICROCRED_ENV=development`` so that later commands run in development by themselves;
    returns True when they were created just now (so the caller prints them once).
    """
    path = path or dev_secrets_file()
    created = False
    if not path.exists():
        path.write_text(
            "MICROCRED_ENV=development\n"
            f"MICROCRED_ADMIN_TOKEN={secrets.token_urlsafe(32)}\n"
            f"MICROCRED_MASTER_KEY={new_master_key()}\n",
            encoding="utf-8",
        )
        path.chmod(0o600)
        created = True
    load_development_settings(path)
    return created
