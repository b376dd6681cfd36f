"""The tables of the system of record, the one place they are defined: the mapped classes, and
below them each table as the store's queries use it. Changes here need an Alembic migration."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from enum import IntEnum, StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on every database (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: paperfeed stores aware UTC times")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Organisation(Base):
    """An organisation that claims papers (Hugging Face style: handle + display name)."""

    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handle: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(500))


class Paper(Base):
    """One arXiv paper, keyed by its id without version; holds its latest known version."""

    __tablename__ = "papers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    arxiv_id: Mapped[str] = mapped_column(String(64), unique=True)
    version: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    # paperfeed.text.folded_title(title): library matching looks titles up by it
    title_folded: Mapped[str | None] = mapped_column(Text, index=True)
    abstract: Mapped[str] = mapped_column(Text)
    # display order; normalised into paper_authors too, for author pages
    authors: Mapped[list[str] | None] = mapped_column(JSON)
    categories: Mapped[list[str]] = mapped_column(JSON)
    primary_category: Mapped[str | None] = mapped_column(String(64))
    published: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated: Mapped[datetime | None] = mapped_column(UTCDateTime)
    announced: Mapped[date | None] = mapped_column(Date, index=True)
    doi: Mapped[str | None] = mapped_column(String(500))
    journal_ref: Mapped[str | None] = mapped_column(Text)
    comments: Mapped[str | None] = mapped_column(Text)
    license: Mapped[str | None] = mapped_column(String(500))
    links: Mapped[list[str]] = mapped_column(JSON)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    upvotes: Mapped[int | None] = mapped_column(Integer)  # counted elsewhere (Hugging Face)
    votes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # ours
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(500))
    first_seen: Mapped[date] = mapped_column(Date)
    last_seen: Mapped[date] = mapped_column(Date)
    # when this row last changed; indexes catch up on rows changed after their watermark
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # from Hugging Face's daily papers, as it gives them
    ai_summary: Mapped[str | None] = mapped_column(Text)
    ai_keywords: Mapped[list[str] | None] = mapped_column(JSON)
    github_stars: Mapped[int | None] = mapped_column(Integer)
    num_comments: Mapped[int | None] = mapped_column(Integer)
    submitted_on_daily_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    submitted_by: Mapped[str | None] = mapped_column(String(200))
    # computed here from the paper's text and embedding; keywords_at is when they were written
    keywords: Mapped[list[str] | None] = mapped_column(JSON)
    keywords_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    keywords_hash: Mapped[str | None] = mapped_column(String(64))  # of the text they came from


# references are looked up by lower-cased DOI (store/lookup.py)
Index("ix_papers_doi_lower", func.lower(Paper.doi))


class Author(Base):
    __tablename__ = "authors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)


class PaperAuthor(Base):
    __tablename__ = "paper_authors"
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"), index=True)


class RunStatus(StrEnum):
    """Where an ingest run is; a failed one is resumed by the next run of the same input."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class IngestRun(Base):
    """One run of ``paperfeed ingest``; its checkpoint is saved with every committed batch."""

    __tablename__ = "ingest_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))  # a RunStatus
    checkpoint: Mapped[dict | None] = mapped_column(JSON)
    pid: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    new: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class Rejection(Base):
    """A record an ingest run rejected, with where it was and why."""

    __tablename__ = "ingest_rejections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("ingest_runs.id", ondelete="CASCADE"))
    location: Mapped[str] = mapped_column(String(1000))
    reason: Mapped[str] = mapped_column(Text)


Index("ix_ingest_runs_source_status", IngestRun.source, IngestRun.status)
Index("ix_ingest_rejections_run_id", Rejection.run_id)


def new_key() -> str:
    """A random key for a row whose id goes into a signed cookie or link (see ``users`` and
    ``subscriptions``): the signature then names this row, never a later one with its id."""
    return secrets.token_urlsafe(16)


class User(Base):
    """An account: signs in with its email and password; an admin may hide papers."""

    __tablename__ = "users"
    # ids are never reused (SQLite reuses the highest deleted rowid without AUTOINCREMENT)
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # lower-cased
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # recommendation filters: {"categories": [...], "exclude": [...]}
    preferences: Mapped[dict | None] = mapped_column(JSON)
    # in the session cookie with the id; a new one (signing out, a new password) ends them all
    session_key: Mapped[str] = mapped_column(String(64), default=new_key)
    # when a link mailed to the address was followed while signed in: until then nothing tied
    # to the address by email (its subscriptions, a recommendations digest) is the account's
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # set by an admin: the account may no longer comment
    banned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # opted in on the profile: a mail for each reply to one of the account's comments
    reply_mail: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # opted in on the Following page: a mail for each comment on a paper by a followed author
    follow_mail: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # the secret part of the account's Atom feed URL (of what it follows); made on first use
    feed_key: Mapped[str | None] = mapped_column(String(64))


# a unique index, not a constraint: SQLite adds no constraint to an existing table
Index("uq_users_feed_key", User.feed_key, unique=True)


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # to the few minutes


class Vote(Base):
    """One user's upvote of one paper."""

    __tablename__ = "votes"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SavedPaper(Base):
    """A paper a user saved to read later."""

    __tablename__ = "saved_papers"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Submission(Base):
    """Who submitted a paper to the feed, and when (one row per paper)."""

    __tablename__ = "submissions"
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Tag(Base):
    """One of a user's tags (folders) for saved papers."""

    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_tags_user_id_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PaperTag(Base):
    """A saved paper filed under a tag; a paper may carry several."""

    __tablename__ = "paper_tags"
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NotInterested(Base):
    """A paper a user does not want recommended, nor papers like it."""

    __tablename__ = "not_interested"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Note(Base):
    """A user's short note on a paper."""

    __tablename__ = "notes"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Comment(Base):
    """A comment on a paper, or a reply to one (``parent_id``); ``body`` is Markdown as
    written, ``html`` it rendered and sanitised when it was written. One hidden by an admin,
    or deleted by its author while it has replies, stays as a placeholder in its thread."""

    __tablename__ = "comments"
    __table_args__ = ({"sqlite_autoincrement": True},)  # ids in links and mails: never reused
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), index=True)
    # none once its author deleted their account (the words went with it)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CommentReport(Base):
    """A user's report of a comment for an admin to look at; one per user and comment."""

    __tablename__ = "comment_reports"
    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # when an admin hid the comment or left it up: off the queue
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class FollowKind(StrEnum):
    """What a follow watches; ``Follow.target`` names it."""

    AUTHOR = "author"  # an author's name as the store keeps it (``authors.name``)
    ORGANISATION = "organisation"  # an organisation's handle
    CATEGORY = "category"  # an archive ("cs") or a category ("cs.CL")
    SEARCH = "search"  # a search: the search page's query string ("q=…&cat=…")


class Follow(Base):
    """Something a user follows: its new papers reach the user's home page, "Following"
    digest and Atom feed, and its webhook when it has one."""

    __tablename__ = "follows"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "target", name="uq_follows_user_id_kind_target"),
        {"sqlite_autoincrement": True},  # ids in webhook payloads and links: never reused
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # a FollowKind
    target: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # where new papers are POSTed; each payload signed with HMAC-SHA256 under the secret
    webhook_url: Mapped[str | None] = mapped_column(Text)
    webhook_secret: Mapped[str | None] = mapped_column(String(64))
    # papers that arrived up to this moment were looked at for the webhook
    webhook_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # deliveries failed for good in a row; at PAUSE_AFTER the webhook is paused
    webhook_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    webhook_error: Mapped[str | None] = mapped_column(Text)  # why the last one failed
    webhook_paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


Index("ix_follows_kind_target", Follow.kind, Follow.target)


class DigestKind(StrEnum):
    """What a subscription's digest brings."""

    TRENDING = "trending"
    SEARCH = "search"  # new papers for a saved search
    RECOMMEND = "recommend"  # recommendations for the subscriber's account
    FOLLOWING = "following"  # new papers of what the subscriber's account follows


class Frequency(StrEnum):
    DAILY = "daily"  # on weekdays
    WEEKLY = "weekly"


class SubscriptionStatus(StrEnum):
    PENDING = "pending"  # until the address confirms
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"  # the mail server refused the address for good


class Subscription(Base):
    """An email digest: trending papers, a saved search or recommendations, daily or weekly."""

    __tablename__ = "subscriptions"
    __table_args__ = ({"sqlite_autoincrement": True},)  # ids never reused, as for users
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)  # lower-cased
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))  # a DigestKind
    frequency: Mapped[str] = mapped_column(String(10))  # a Frequency
    query: Mapped[str | None] = mapped_column(Text)
    filters: Mapped[dict | None] = mapped_column(JSON)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    hour: Mapped[int] = mapped_column(Integer, default=7)  # local hour the digest is due
    status: Mapped[str] = mapped_column(String(20), index=True)  # a SubscriptionStatus
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # signed into its links with the id; none on rows older than keys, whose mailed links
    # carry the id alone and go on working for them
    link_key: Mapped[str | None] = mapped_column(String(64), default=new_key)


class SuppressedAddress(Base):
    """An address a mail server refused permanently (5xx): nothing more is sent to it."""

    __tablename__ = "suppressed_addresses"
    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MailKind(StrEnum):
    CONFIRM = "confirm"  # asks the address to confirm a subscription
    MANAGE = "manage"  # a live subscription's manage link, sent again when asked for it
    VERIFY = "verify"  # asks an account's address to confirm it is the account holder's
    REPLY = "reply"  # a reply to one of the account's comments (opted in)
    FOLLOWED_COMMENT = "comment"  # a comment on a paper by a followed author (opted in)
    PAUSED = "paused"  # tells a follow's owner that its webhook was paused
    DIGEST = "digest"
    WEBHOOK = "webhook"  # a follow's new papers POSTed as JSON to its webhook, not a mail


class OutboxStatus(StrEnum):
    PENDING = "pending"  # due at next_attempt_at
    SENDING = "sending"  # claimed by a delivery run until next_attempt_at
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # its subscription stopped before it went out


class OutboxMessage(Base):
    """A mail or a webhook call to make, rendered once; ``key`` makes each digest
    (subscription, period) and each webhook call (follow, moment) unique."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    # a webhook call goes to its follow's webhook URL as it is when sent; it has no address
    follow_id: Mapped[int | None] = mapped_column(
        ForeignKey("follows.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str | None] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(20))  # a MailKind
    # RFC 5322 text, or a webhook's JSON body; dropped once old
    message: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # an OutboxStatus
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


Index("ix_outbox_status_next_attempt_at", OutboxMessage.status, OutboxMessage.next_attempt_at)


class DigestPaper(Base):
    """A paper a subscription's digest carried, so that no later digest repeats it."""

    __tablename__ = "digest_papers"
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True
    )
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), index=True)


class WebhookPaper(Base):
    """A paper a follow's webhook call carried, so that no later call repeats it."""

    __tablename__ = "webhook_papers"
    follow_id: Mapped[int] = mapped_column(
        ForeignKey("follows.id", ondelete="CASCADE"), primary_key=True
    )
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), index=True)


class Embedding(Base):
    """A paper's vector under one embedding model (see :mod:`paperfeed.store.vectors`)."""

    __tablename__ = "embeddings"
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex of the embedded text
    paper_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class SimilarPapers(Base):
    """A paper's similar papers as last computed (see :mod:`paperfeed.store.similar`)."""

    __tablename__ = "similar_papers"
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    # [[arXiv id, fused score, [reasons]], ...], most alike first
    neighbours: Mapped[list] = mapped_column(JSON)
    # the vector-index save they were computed with ("generation:id"; "" without one)
    basis: Mapped[str] = mapped_column(String(80), index=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class TopicLevel(IntEnum):
    """How wide a topic is: a broad one holds fine ones."""

    BROAD = 0
    FINE = 1


class Topic(Base):
    """A group of papers found in their embeddings under ``model`` (see
    :mod:`paperfeed.index.topics`); a refit keeps the id of a topic it finds again, and
    retires those it does not. Ids are never reused: a topic's history is its papers'."""

    __tablename__ = "topics"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[int] = mapped_column(Integer)  # a TopicLevel
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id", ondelete="SET NULL"))
    model: Mapped[str] = mapped_column(String(200))  # the embedding model of its centroid
    label: Mapped[list[str]] = mapped_column(JSON)  # distinctive key phrases, best first
    categories: Mapped[list[str]] = mapped_column(JSON)  # its papers' commonest, first first
    centroid: Mapped[bytes] = mapped_column(LargeBinary)  # unit float32, as fitted
    # a new paper joins the nearest topic only if its cosine to the centroid is at least this
    threshold: Mapped[float] = mapped_column(Float)
    size: Mapped[int] = mapped_column(Integer)  # papers assigned at the last refit
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refit_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the last refit that found it
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class PaperTopic(Base):
    """A paper's topic at one level; ``topic_id`` none: looked at, and in no topic."""

    __tablename__ = "paper_topics"
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic_id: Mapped[int | None] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), index=True
    )


class PaperPosition(Base):
    """A paper's place on the map (``/map``): a 2-D layout of the embeddings, fitted with the
    topics; ``landmark`` papers (a sample of those the layout was fitted on) place the papers
    embedded between refits, by their nearest neighbours among them."""

    __tablename__ = "paper_positions"
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    landmark: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


def _table(mapped: type[Base]) -> Table:
    return mapped.__table__  # type: ignore[return-value]


organisations = _table(Organisation)
papers = _table(Paper)
authors = _table(Author)
paper_authors = _table(PaperAuthor)
ingest_runs = _table(IngestRun)
ingest_rejections = _table(Rejection)
users = _table(User)
api_tokens = _table(ApiToken)
votes = _table(Vote)
saved_papers = _table(SavedPaper)
submissions = _table(Submission)
tags = _table(Tag)
paper_tags = _table(PaperTag)
not_interested = _table(NotInterested)
notes = _table(Note)
subscriptions = _table(Subscription)
suppressed_addresses = _table(SuppressedAddress)
outbox = _table(OutboxMessage)
digest_papers = _table(DigestPaper)
webhook_papers = _table(WebhookPaper)
embeddings = _table(Embedding)
comments = _table(Comment)
comment_reports = _table(CommentReport)
follows = _table(Follow)
similar_papers = _table(SimilarPapers)
topics = _table(Topic)
paper_topics = _table(PaperTopic)
paper_positions = _table(PaperPosition)
