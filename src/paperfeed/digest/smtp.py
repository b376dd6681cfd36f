"""Handing mail to an SMTP server with the standard library, and what each failure means.

A failure is temporary (try that message again later), permanent for the recipient (the
address does not exist: never mail it again), or the server is unavailable (unreachable,
refusing our login or our sender: every following message would fail the same way).
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

SCHEMES = {"smtp": ("plain", 25), "smtp+starttls": ("starttls", 587), "smtps": ("tls", 465)}


class TemporaryFailure(Exception):
    """The server did not take the message now (4xx, a dropped connection): retry later."""


class ServerUnavailable(TemporaryFailure):
    """No usable connection to the server: the rest of a run would fail as well."""


class PermanentFailure(Exception):
    """The server refused the recipient or the message for good (5xx to RCPT or DATA)."""


@dataclass(frozen=True)
class SmtpConfig:
    """Where the mail server is and how to talk to it; ``security``: plain, starttls or tls."""

    host: str
    port: int
    security: str = "plain"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        """Parse ``smtp://``, ``smtp+starttls://`` or ``smtps://user:password@host:port``."""
        parts = urlsplit(url.strip())
        if parts.scheme not in SCHEMES:
            raise ValueError(
                f"mail server URL: scheme {parts.scheme!r} is not one of smtp://, "
                "smtp+starttls://, smtps://"
            )
        try:
            port = parts.port
        except ValueError as error:  # the message names the port, never the password
            raise ValueError(f"mail server URL: {error}") from None
        if not parts.hostname or parts.path not in ("", "/") or parts.query:
            raise ValueError("mail server URL: expected scheme://[user:password@]host[:port]")
        if parts.username and parts.password is None:
            raise ValueError("mail server URL: a user needs a password (user:password@host)")
        security, default_port = SCHEMES[parts.scheme]
        password = parts.password
        return cls(
            host=parts.hostname,
            port=port or default_port,
            security=security,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(password) if password is not None else None,
        )


class SmtpConnection:
    """One SMTP connection for a whole delivery run: opened on first use, again after a drop.

    ``with SmtpConnection(config) as smtp: smtp.send(sender, recipient, data)``.
    """

    def __init__(self, config: SmtpConfig, ssl_context: ssl.SSLContext | None = None) -> None:
        self.config = config
        self.ssl_context = ssl_context or ssl.create_default_context()
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        """Hand one message (RFC 5322 bytes, CRLF lines) to the server for one recipient.

        Raises :class:`PermanentFailure`, :class:`TemporaryFailure` or
        :class:`ServerUnavailable`; returns once the server accepted the message (250).
        """
        smtp = self._smtp or self._open()
        try:
            smtp.sendmail(sender, [recipient], data)
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = error.recipients[recipient]
            raise self._refused(code, reply) from error
        except smtplib.SMTPDataError as error:
            raise self._refused(error.smtp_code, error.smtp_error) from error
        except smtplib.SMTPSenderRefused as error:
            failure = self._refused(error.smtp_code, error.smtp_error)
            if isinstance(failure, PermanentFailure):  # our sender: no message would pass
                raise ServerUnavailable(str(failure)) from error
            raise failure from error
        except (smtplib.SMTPException, OSError) as error:  # dropped, timed out, garbled
            self._discard()
            raise TemporaryFailure(describe(error)) from error

    def close(self) -> None:
        """Say QUIT and close; a connection that is already gone is just forgotten."""
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._discard()

    def _open(self) -> smtplib.SMTP:
        config = self.config
        smtp = None
        try:  # smtplib says EHLO before STARTTLS, again after it, and before AUTH
            smtp = self._connect()
            if config.security == "starttls":
                smtp.starttls(context=self.ssl_context)
            if config.username:
                smtp.login(config.username, config.password or "")
        except (smtplib.SMTPException, OSError) as error:
            if smtp is not None:
                smtp.close()
            where = f"{config.host}:{config.port}"
            raise ServerUnavailable(f"mail server {where}: {describe(error)}") from error
        self._smtp = smtp
        return smtp

    def _connect(self) -> smtplib.SMTP:
        host, port, timeout = self.config.host, self.config.port, self.config.timeout
        if self.config.security == "tls":
            return smtplib.SMTP_SSL(host, port, timeout=timeout, context=self.ssl_context)
        return smtplib.SMTP(host, port, timeout=timeout)

    def _refused(self, code: int, reply: bytes | str) -> TemporaryFailure | PermanentFailure:
        text = describe_reply(code, reply)
        if code == 421:  # the server is closing this connection
            self._discard()
        return PermanentFailure(text) if 500 <= code < 600 else TemporaryFailure(text)

    def _discard(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None


def describe(error: BaseException) -> str:
    """A short text for ``last_error``: the server's reply, or what went wrong on the wire."""
    if isinstance(error, smtplib.SMTPResponseException):
        return describe_reply(error.smtp_code, error.smtp_error)
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def describe_reply(code: int, reply: bytes | str) -> str:
    """``550 5.1.1 no such user`` from smtplib's code and reply bytes."""
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
    return f"{code} {' '.join(text.split())}"
