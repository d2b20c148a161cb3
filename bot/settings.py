"""All configuration in one place: environment variables, optionally from a `.env` file."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ingest import bundled_knowledge_dir
from ingest.limits import MB, ParseLimits


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: str | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: str | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: str | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")

    data_dir: Path = Field(default=Path(".coe"), validation_alias="COE_DATA_DIR")
    knowledge_dirs: Annotated[list[Path], NoDecode] = Field(
        default_factory=list, validation_alias="COE_KNOWLEDGE_DIRS"
    )
    # Confluence, Google Drive, Notion, Git and folders, one entry each (README "Sources").
    sources_file: Path | None = Field(default=None, validation_alias="COE_SOURCES_FILE")
    # `coe serve` syncs the sources this often (one replica at a time); unset: never.
    sync_every_min: float | None = Field(default=None, gt=0, validation_alias="COE_SYNC_EVERY_MIN")
    # Owners' Slack ids by name or email, for review reminders (README "Keeping it true").
    owners_file: Path | None = Field(default=None, validation_alias="COE_OWNERS_FILE")
    review_notice_days: int = Field(
        default=14, ge=0, le=365, validation_alias="COE_REVIEW_NOTICE_DAYS"
    )
    review_check_min: float = Field(default=60.0, gt=0, validation_alias="COE_REVIEW_CHECK_MIN")
    # The day the weekly review digest goes to the triage channel; unset: no digest.
    review_digest_day: (
        Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] | None
    ) = Field(default=None, validation_alias="COE_REVIEW_DIGEST_DAY")
    max_file_mb: float = Field(default=10.0, gt=0, validation_alias="COE_MAX_FILE_MB")
    # Links in a knowledge folder could publish any file the server can read: off by default.
    follow_symlinks: Literal["off", "inside"] = Field(
        default="off", validation_alias="COE_FOLLOW_SYMLINKS"
    )
    max_decompressed_mb: float = Field(
        default=100.0, gt=0, validation_alias="COE_MAX_DECOMPRESSED_MB"
    )
    parse_timeout_s: float = Field(default=60.0, gt=0, validation_alias="COE_PARSE_TIMEOUT_S")
    parse_memory_mb: float = Field(default=1024.0, gt=0, validation_alias="COE_PARSE_MEMORY_MB")
    # Moves the answer/decline threshold to each new index's similarity scale at ingest.
    auto_calibrate: bool = Field(default=True, validation_alias="COE_AUTO_CALIBRATE")
    database_url: str | None = Field(default=None, validation_alias="COE_DATABASE_URL")
    staff_user_ids: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="COE_STAFF_USER_IDS"
    )
    staff_usergroup_id: str | None = Field(default=None, validation_alias="COE_STAFF_USERGROUP_ID")
    triage_channel_id: str | None = Field(default=None, validation_alias="COE_TRIAGE_CHANNEL_ID")
    sla_working_days: float = Field(default=1.0, gt=0, validation_alias="COE_SLA_WORKING_DAYS")
    retention_days: int = Field(default=180, ge=1, validation_alias="COE_RETENTION_DAYS")
    rate_limit_per_minute: int = Field(
        default=10, ge=1, validation_alias="COE_RATE_LIMIT_PER_MINUTE"
    )
    source_base_url: str | None = Field(default=None, validation_alias="COE_SOURCE_BASE_URL")
    help_channel: str = Field(default="#ai-coe-help", validation_alias="COE_HELP_CHANNEL")
    # Delivery and durability (see README "Operating it").
    slack_timeout_s: float = Field(default=30.0, gt=0, validation_alias="COE_SLACK_TIMEOUT_S")
    delivery_max_attempts: int = Field(
        default=6, ge=1, validation_alias="COE_DELIVERY_MAX_ATTEMPTS"
    )
    delivery_backoff_s: float = Field(
        default=5.0, gt=0, le=600, validation_alias="COE_DELIVERY_BACKOFF_S"
    )
    sweep_interval_s: float = Field(default=10.0, gt=0, validation_alias="COE_SWEEP_INTERVAL_S")
    answer_workers: int = Field(default=4, ge=1, le=64, validation_alias="COE_ANSWER_WORKERS")
    shutdown_timeout_s: float = Field(
        default=25.0, gt=0, le=300, validation_alias="COE_SHUTDOWN_TIMEOUT_S"
    )
    max_request_kb: int = Field(default=1024, ge=16, validation_alias="COE_MAX_REQUEST_KB")
    # onnx: ONNX Runtime, no torch at query time; torch: sentence-transformers (the reference).
    embedding_backend: Literal["onnx", "torch"] = Field(
        default="onnx", validation_alias="COE_EMBEDDING_BACKEND"
    )
    # Several replicas: a Chroma server holds the vectors, the database the generations.
    chroma_url: str | None = Field(default=None, validation_alias="COE_CHROMA_URL")
    redis_url: str | None = Field(default=None, validation_alias="COE_REDIS_URL")
    index_sync_s: float = Field(default=10.0, gt=0, le=300, validation_alias="COE_INDEX_SYNC_S")
    log_format: Literal["text", "json"] = Field(default="text", validation_alias="COE_LOG_FORMAT")
    # An optional OpenAI-compatible model that writes answers from the retrieved passages;
    # without one, answers are quotes (see README "Written answers from your own model").
    llm_base_url: str | None = Field(default=None, validation_alias="COE_LLM_BASE_URL")
    llm_model: str | None = Field(default=None, validation_alias="COE_LLM_MODEL")
    llm_api_key: SecretStr | None = Field(default=None, validation_alias="COE_LLM_API_KEY")
    llm_timeout_s: float = Field(default=20.0, gt=0, le=300, validation_alias="COE_LLM_TIMEOUT_S")
    llm_max_tokens: int = Field(
        default=600, ge=16, le=32_000, validation_alias="COE_LLM_MAX_TOKENS"
    )
    llm_temperature: float = Field(default=0.0, ge=0, le=2, validation_alias="COE_LLM_TEMPERATURE")

    @field_validator("chroma_url")
    @classmethod
    def _chroma_url(cls, value: str | None) -> str | None:
        # Caught here, not after five minutes of "waiting for the shared index".
        if value:
            from urllib.parse import urlsplit

            parts = urlsplit(value if "://" in value else f"http://{value}")
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"not a Chroma server URL (http://host:port): {value!r}")
        return value or None

    @field_validator("knowledge_dirs", "staff_user_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split_commas(value)

    @cached_property
    def knowledge_paths(self) -> list[Path]:
        return list(self.knowledge_dirs) or [bundled_knowledge_dir()]

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * MB)

    @property
    def parse_limits(self) -> ParseLimits:
        return ParseLimits(
            max_decompressed_bytes=int(self.max_decompressed_mb * MB),
            timeout_s=self.parse_timeout_s,
            memory_bytes=int(self.parse_memory_mb * MB),
        )


def load_settings() -> Settings:
    return Settings()
