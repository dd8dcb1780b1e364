"""Settings, split by concern; read from the environment (and `.env`), same for the CLI and the server."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from embeddings.language import Language, language


class TracardiSettings(BaseModel):
    url: str | None = None  # e.g. http://localhost:8686
    username: str = "admin@admin.com"
    password: str = ""
    context: str = "production"
    timeout_s: float = 30.0
    page_size: int = 1000
    concurrency: int = 4
    retries: int = Field(5, ge=0, le=10)  # per request, with backoff (then a job fails and the job engine retries)
    # None: asked of the server (GET /info/version); set it only for a build that reports something else
    version: str | None = None
    # 0.7 has no event-to-profile mapping: write-back there needs a Tracardi workflow on the
    # `profile-ai-traits` event type. Say yes once that workflow exists; until then write-back refuses.
    workflow_writeback: bool = False


class QdrantSettings(BaseModel):
    url: str | None = None  # empty: the embedded Qdrant Edge shard under the data dir
    api_key: str | None = None
    collection: str = "profiles"
    # the embedded shard: 0 = no HNSW graph, a quantized scan (exact recall; fast enough up to 1M profiles, see
    # docs/performance.md); 16-32 builds a graph (faster past a few million points, slower to build, lower recall)
    hnsw_m: int = Field(0, ge=0, le=64)


class EmbeddingSettings(BaseModel):
    model: str | None = None  # None: the language's model (en: all-MiniLM-L6-v2; es/multi: multilingual-e5-small)
    device: str = "auto"  # auto: the GPU when the machine has one (cuda), else cpu
    # None: 16 on a CPU (bench/sync_memory.py: larger batches are slower there and raise the peak), 64 on a GPU
    batch_size: int | None = Field(None, ge=1, le=4096)
    threads: int | None = None
    precision: str = "auto"  # auto | fp32 | bf16 | fp16 (see embeddings/encoder.py)


class DatabaseSettings(BaseModel):
    url: str | None = None  # Supabase / PostgreSQL; empty: embedded (state-layer issue)
    # Supabase's direct connection or session pooler, beside a transaction-pooler `url`: migrations and the job
    # engine (its search_path, LISTEN) uses it; migrations run pooler-safe either way
    direct_url: str | None = None
    # direct | session | transaction; empty: from the URL where it is certain (port 6543, pgbouncer=true)
    pool_mode: Literal["direct", "session", "transaction"] | None = None
    # opt-in: Supabase's `authenticated` role may read the read API where the user's JWT holds this claim as
    # true (an RLS policy per table); empty: `authenticated` reads nothing. `service_role` always reads,
    # `anon` never does.
    read_api_claim: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class PrivacySettings(BaseModel):
    # Dotted paths that may enter documents and payloads although they look personal (opt-in).
    allow_fields: list[str] = Field(default_factory=list)
    # HMAC key of erasure tombstones; empty: a random key kept in the data dir (several servers sharing one
    # database must share this key)
    erasure_key: str | None = None
    # keep the event log only this many days (older rows are purged after every sync); None: keep everything
    event_retention_days: int | None = Field(None, ge=1, le=36_500)
    # on erasure, also set the person's traits.ai to nothing in Tracardi (a request or the CLI may ask anyway)
    erasure_clears_tracardi: bool = False
    # GDPR art. 21: a dotted path in the profile (consents.*, traits.*, data.*) whose true value means the person
    # objected to profiling; they are then left out of segments and predictions (still searchable)
    objection_field: str | None = None
    # an erased person's vector and payload leave the embedded index's files at the next purge: this many
    # seconds after the last erasure of a burst (one rewrite for many erasures), at the latest ten times as long
    index_purge_delay_s: float = Field(30.0, ge=0.0, le=3600.0)


class SyncSettings(BaseModel):
    source: str | None = None  # export directory or Tracardi URL; default: the Tracardi URL
    batch_size: int = 256
    event_dictionary: Path | None = None  # YAML extending the bundled event dictionary
    # A complete read deletes what its source no longer holds, but never more than this share of what that
    # source delivered (and never after a read with errors or an empty answer); past it, --allow-mass-delete.
    max_delete_share: float = Field(0.10, ge=0.0, le=1.0)


def readable_limit(value: str) -> str:
    """A rate-limit setting ("600/minute"): a typo fails at start-up, not at the first request."""
    from app.auth.ratelimit import parse_limit

    parse_limit(value)
    return value


MIN_WEBHOOK_SECRET = 32  # characters: a shared secret short enough to guess is refused at start-up


class WebhookSettings(BaseModel):
    secret: str | None = None  # sent by Tracardi's destination in the X-Profile-AI-Secret header (32+ characters)
    username: str | None = None  # or HTTP Basic (Tracardi's `api` resource username/password, 32+ characters)
    password: str | None = None
    # a signing proxy in front: every push must carry X-Profile-AI-Signature (HMAC of time and body)
    require_signature: bool = False
    # wrong credentials from one peer before it gets 429 for the rest of the window
    failures_per_peer: str = "10/minute"

    @field_validator("secret", "password")
    @classmethod
    def _long_enough(cls, value: str | None) -> str | None:
        if value is not None and value != "" and len(value) < MIN_WEBHOOK_SECRET:
            raise ValueError(f"must be at least {MIN_WEBHOOK_SECRET} characters (generate one with "
                             "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
        return value or None

    @field_validator("failures_per_peer")
    @classmethod
    def _readable_limit(cls, value: str) -> str:
        return readable_limit(value)
    # pushes re-sync their profiles at once; the segment refresh that follows waits this long for more pushes
    refresh_delay_s: float = Field(5.0, ge=0, le=3600)


class PredictionSettings(BaseModel):
    # event types that are purchases; empty: every type whose event-dictionary entry names a money value
    purchase_types: list[str] = Field(default_factory=list)
    # event types that count as activity for churn; empty: every type
    activity_types: list[str] = Field(default_factory=list)
    default_horizon_days: int = 90
    # live quality (issue 35): snapshots of each scoring kept this long (at least the longest horizon); a goal is
    # retrained when a scoring's PSI passes `drift_threshold` or realized AUC falls `auc_band` below the holdout's
    snapshot_retention_days: int = Field(400, ge=1, le=3650)
    drift_threshold: float = Field(0.25, gt=0, le=10)
    auc_band: float = Field(0.1, gt=0, le=0.5)


class JobSettings(BaseModel):
    """The job engine (Procrastinate on the state database): workers, schedules, partitioned backfill."""

    worker_in_serve: bool = True  # `profile-ai serve` runs jobs itself: the embedded default stays one command
    concurrency: int = Field(1, ge=1, le=64)  # jobs one worker runs at once (encoding is the bottleneck)
    partitions: int = Field(8, ge=1, le=1024)  # a full backfill is split into this many jobs
    default_schedules: bool = True  # sync every 5 min, write-back every 5, segments hourly, rescoring nightly
    heartbeat_s: float = Field(10.0, gt=0)  # a worker's heartbeat; its jobs are retried when it stops
    stalled_after_s: float = Field(60.0, gt=0)  # no heartbeat this long: the worker is dead, its jobs go back
    max_attempts: int = Field(5, ge=1, le=50)  # a transient failure (Tracardi down, a lost connection) retries


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    max_limit: int = 100
    mcp_allow_writes: bool = False  # offer state-changing MCP tools (e.g. start_sync); /mcp then needs `write`
    # API keys on /v1 and /mcp. Switching them off is for local use: the server then binds loopback only.
    auth: bool = True
    max_body_bytes: int = 64 * 1024 * 1024  # bulk routes (prediction imports); larger bodies get 413
    cors_origins: list[str] = Field(default_factory=list)  # CORS is off unless origins are listed
    # open mode only: Host names accepted besides localhost/127.0.0.1/::1 (DNS-rebinding protection)
    allowed_hosts: list[str] = Field(default_factory=list)
    # per API key (per peer in open mode), moving window; "" switches one off. Several server processes share
    # a budget only through a shared store: rate_limit_storage="redis://host:6379"
    rate_limit: str = "6000/minute"  # 100/s: far above one agent or page, far below a flood
    rate_limit_writes: str = "600/minute"  # requests that need the write or admin scope, on top of the above
    rate_limit_storage: str = "memory://"
    # unknown or revoked API keys from one peer before that peer gets 429 (each costs a lookup and a log line)
    key_failures_per_peer: str = "20/minute"
    # jobs one key (or peer) may queue by POST /v1/jobs; each waiting job is one copy whatever its arguments
    job_deferrals_per_key: str = "30/hour"
    # request bodies: this much on any route; the bulk import routes take up to max_body_bytes
    max_request_bytes: int = Field(1024 * 1024, ge=1024)

    @field_validator("rate_limit", "rate_limit_writes", "key_failures_per_peer", "job_deferrals_per_key")
    @classmethod
    def _readable_limit(cls, value: str) -> str:
        return readable_limit(value)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROFILE_AI_", env_nested_delimiter="__", env_file=".env",
                                      extra="ignore")

    data_dir: Path = Path(".profile-ai")
    # en | es | multi: picks the embedding model, the BM25 analysers and the wording together (embeddings/
    # language.py); `multi` is for a Spanish-speaking company with data and queries in both languages
    language: str = "en"
    wording: str | None = None  # en | es: overrides the language's wording of documents, names and cards
    tracardi: TracardiSettings = Field(default_factory=TracardiSettings)
    qdrant: QdrantSettings = Field(default_factory=QdrantSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    prediction: PredictionSettings = Field(default_factory=PredictionSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        return language(value).code  # an unknown one fails at start-up, saying which exist

    @property
    def lang(self) -> Language:
        return language(self.language, self.wording)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, plus the well-known unprefixed variables of the stack."""
    import os

    settings = Settings(**overrides)  # type: ignore[arg-type]
    if os.environ.get("QDRANT_URL") and not settings.qdrant.url:
        settings.qdrant.url = os.environ["QDRANT_URL"]
    if os.environ.get("DATABASE_URL") and not settings.database.url:
        settings.database.url = os.environ["DATABASE_URL"]
    if os.environ.get("TRACARDI_URL") and not settings.tracardi.url:
        settings.tracardi.url = os.environ["TRACARDI_URL"]
    return settings
