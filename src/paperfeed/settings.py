"""One typed settings object: defaults < ``config.toml`` < ``PAPERFEED_*`` environment variables."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def default_home() -> Path:
    """``$PAPERFEED_HOME`` or the user's data directory (e.g. ``~/.local/share/paperfeed``)."""
    return Path(os.environ.get("PAPERFEED_HOME") or platformdirs.user_data_dir("paperfeed"))


def config_path() -> Path:
    """``$PAPERFEED_CONFIG`` or ``config.toml`` in the home directory."""
    return Path(os.environ.get("PAPERFEED_CONFIG") or default_home() / "config.toml")


class Settings(BaseSettings):
    """paperfeed's configuration; every field can be set as ``PAPERFEED_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="PAPERFEED_", extra="forbid")

    home: Path = Field(default_factory=default_home, description="Where data lives.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the store; default: SQLite file paperfeed.db in home.",
    )
    arxiv_api_url: str = Field(default="https://export.arxiv.org/api/query")
    arxiv_oai_url: str = Field(default="https://oaipmh.arxiv.org/oai")
    arxiv_rss_url: str = Field(default="https://rss.arxiv.org/rss/")
    hf_daily_papers_url: str = Field(default="https://huggingface.co/api/daily_papers")
    request_delay: float = Field(
        default=3.0, ge=0, description="Seconds between requests to arXiv (its terms ask >= 3)."
    )
    http_timeout: float = Field(default=60.0, gt=0)
    user_agent: str = Field(default="paperfeed/0.1 (self-hosted paper discovery)")
    batch_size: int = Field(default=1000, ge=1, le=100_000, description="Records per commit.")
    embedding_backend: str = Field(
        default="onnx-int8",
        description="onnx-int8 (the model exported to ONNX Runtime, documents in int8: fastest "
        "on CPU), onnx (the same, all float32), local (sentence-transformers, torch; CPU or "
        "GPU) or openai (a remote endpoint).",
    )
    embedding_model: str = Field(
        default="all-MiniLM-L6-v2",
        description="A sentence-transformers model id or path; the default ships in a package.",
    )
    embedding_url: str | None = Field(
        default=None, description="OpenAI-compatible embeddings endpoint (TEI, vLLM, Ollama)."
    )
    embedding_api_key: str | None = None
    embedding_batch_size: int = Field(default=32, ge=1, le=4096)
    embedding_concurrency: int = Field(
        default=4, ge=1, le=64, description="Requests to a remote endpoint in flight at once."
    )
    hybrid_alpha: float = Field(default=0.5, ge=0, le=1, description="Weight of the dense side.")
    feedback_docs: int = Field(default=3, ge=0, le=50, description="Dense feedback papers.")
    feedback_weight: float = Field(default=0.5, ge=0, le=5)

    model_cache: Path | None = Field(
        default=None, description="Folder of exported ONNX models; default: home/models."
    )
    secret_key: str | None = Field(
        default=None,
        description="Signs session cookies; default: a random key kept in home/secret_key "
        "(give every worker the same one).",
    )
    cookie_secure: bool = Field(
        default=False, description="Send cookies over HTTPS only (set it behind HTTPS)."
    )
    login_rate: str = Field(default="10/minute", description="Sign-ins per client address.")
    signup_rate: str = Field(default="5/hour", description="Sign-ups per client address.")
    submit_rate: str = Field(default="30/hour", description="Paper submissions per user.")
    comment_rate: str = Field(default="20/hour", description="Comments and replies per user.")
    subscribe_rate: str = Field(default="10/hour", description="Subscriptions per client address.")
    verify_rate: str = Field(
        default="3/hour", description="Mails with the link that verifies an address, per user."
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The site's address as readers reach it; links in mails point there.",
    )
    smtp_url: str | None = Field(
        default=None,
        description="Mail server: smtp://user:pass@host:port, smtp+starttls://… or smtps://…; "
        "unset: digests wait in the outbox.",
    )
    digest_minutes: int = Field(
        default=10,
        ge=0,
        description="How often `paperfeed serve` runs the due digests when a mail server is "
        "set (0: never; then run `paperfeed digest run` from cron).",
    )
    mail_from: str = Field(
        default="paperfeed <paperfeed@localhost>", description="The From of every mail sent."
    )

    sync: bool = Field(
        default=True,
        description="Let the worker import arXiv's announcements and Hugging Face's daily "
        "papers on schedule (see sync_categories, sync_hf_daily); false: only by hand.",
    )
    sync_categories: str = Field(
        default="cs.AI cs.CL cs.CV cs.LG stat.ML",
        description="arXiv categories or archives whose announcements the worker imports "
        "from arXiv's RSS feed after each announcement, separated by spaces (empty: none).",
    )
    sync_hf_daily: bool = Field(
        default=True, description="Let the worker import Hugging Face's daily papers."
    )
    sync_hf_every: float = Field(
        default=3.0, gt=0, description="Hours between imports of Hugging Face's daily papers."
    )
    webhook_timeout: float = Field(
        default=10.0,
        gt=0,
        le=60,
        description="Seconds a webhook's receiver has to answer a call before it is retried.",
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="Let webhooks go to this machine and private networks (localhost, 10.x, "
        "192.168.x, ...); off: users could reach internal services through the server.",
    )

    @property
    def index_dir(self) -> Path:
        """Where the derived search indexes live (rebuildable from the store)."""
        return self.home / "index"

    @property
    def model_dir(self) -> Path:
        """Where models exported for the onnx embedding backend are kept."""
        return self.model_cache or self.home / "models"

    @property
    def embedding_commit_size(self) -> int:
        """Papers embedded and committed together: enough to keep ``embedding_concurrency``
        requests of ``embedding_batch_size`` in flight to a remote endpoint, or two batches
        for a model in this process (few enough that a stopped worker's batch is done soon)."""
        if self.embedding_backend != "openai":
            return 2 * self.embedding_batch_size
        return self.embedding_batch_size * self.embedding_concurrency

    @property
    def sync_category_list(self) -> list[str]:
        """``sync_categories`` as a list (commas separate too)."""
        return self.sync_categories.replace(",", " ").split()

    @property
    def database(self) -> str:
        """The effective SQLAlchemy URL."""
        return self.database_url or f"sqlite:///{self.home / 'paperfeed.db'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_path())
        return (init_settings, env_settings, toml)


def secret_key(settings: Settings) -> str:
    """The configured key, else one generated once and kept (mode 600) in ``home``."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.home / "secret_key"
    if not path.exists():
        settings.home.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(secrets.token_urlsafe(48))
        temporary.chmod(0o600)
        temporary.replace(path)
    return path.read_text().strip()
