"""Talking to a real SMTP server: URL parsing, TLS, login, and how each failure is classified."""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP

import pytest
import trustme

from paperfeed.digest.smtp import (
    PermanentFailure,
    ServerUnavailable,
    SmtpConfig,
    SmtpConnection,
    TemporaryFailure,
)
from smtp_server import HOST, SmtpServer

SENDER = "paperfeed@example.org"


def mail(to: str, subject: str = "Your digest") -> bytes:
    message = EmailMessage()
    message["From"] = f"paperfeed <{SENDER}>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Three new papers.\n")
    return message.as_bytes(policy=SMTP)


def fields(config: SmtpConfig) -> tuple:
    return config.host, config.port, config.security, config.username, config.password


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.org", ("mail.example.org", 25, "plain", None, None)),
        ("smtp://u:pw@mail.example.org:2525", ("mail.example.org", 2525, "plain", "u", "pw")),
        (
            "smtp+starttls://me%40example.org:p%3As%2Fw%40rd@smtp.example.org",
            ("smtp.example.org", 587, "starttls", "me@example.org", "p:s/w@rd"),
        ),
        ("smtps://u:@SMTP.Example.org", ("smtp.example.org", 465, "tls", "u", "")),
        ("smtps://[::1]:8465/", ("::1", 8465, "tls", None, None)),
    ],
)
def test_smtp_url_is_parsed(url: str, expected: tuple) -> None:
    assert fields(SmtpConfig.from_url(url)) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://mail.example.org", "scheme 'http' is not one of smtp://"),
        ("mail.example.org:25", "scheme 'mail.example.org' is not one of smtp://"),
        ("smtp://", "expected scheme://[user:password@]host[:port]"),
        ("smtp://mail.example.org/inbox", "expected scheme://[user:password@]host[:port]"),
        ("smtp://u:secret@mail.example.org:smtp", "Port could not be cast to integer value"),
        ("smtp://mail.example.org:99999", "Port out of range 0-65535"),
        ("smtp://u@mail.example.org", "a user needs a password"),
    ],
)
def test_bad_smtp_url_is_refused_clearly(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"^mail server URL: ") as raised:
        SmtpConfig.from_url(url)
    assert message in str(raised.value)
    assert "secret" not in str(raised.value)


def test_password_is_not_shown_in_repr() -> None:
    assert "hunter2" not in repr(SmtpConfig.from_url("smtp://u:hunter2@mail.example.org"))


def test_one_connection_sends_several_messages(smtp_server: SmtpServer) -> None:
    with SmtpConnection(SmtpConfig.from_url(smtp_server.url)) as smtp:
        smtp.send(SENDER, "ada@example.org", mail("ada@example.org", "One"))
        smtp.send(SENDER, "bob@example.org", mail("bob@example.org", "Two"))
    received = [(r.sender, r.recipients, r.message["Subject"]) for r in smtp_server.received]
    assert received == [
        (SENDER, ["ada@example.org"], "One"),
        (SENDER, ["bob@example.org"], "Two"),
    ]


def test_unknown_recipient_fails_permanently_and_the_next_one_is_sent(
    smtp_server: SmtpServer,
) -> None:
    smtp_server.refuse("ghost@example.org")
    with SmtpConnection(SmtpConfig.from_url(smtp_server.url)) as smtp:
        with pytest.raises(PermanentFailure) as raised:
            smtp.send(SENDER, "ghost@example.org", mail("ghost@example.org"))
        smtp.send(SENDER, "ada@example.org", mail("ada@example.org"))
    assert str(raised.value) == "550 5.1.1 <ghost@example.org>: no such user"
    assert smtp_server.copies() == {"ada@example.org": 1}


def test_busy_server_fails_temporarily(smtp_server: SmtpServer) -> None:
    smtp_server.answer_busy(1)
    with SmtpConnection(SmtpConfig.from_url(smtp_server.url)) as smtp:
        with pytest.raises(TemporaryFailure) as raised:
            smtp.send(SENDER, "ada@example.org", mail("ada@example.org"))
        smtp.send(SENDER, "bob@example.org", mail("bob@example.org"))
    assert str(raised.value) == "451 4.3.0 try again later"
    assert not isinstance(raised.value, ServerUnavailable)
    assert smtp_server.copies() == {"bob@example.org": 1}


def test_dropped_connection_fails_temporarily_and_is_reopened(smtp_server: SmtpServer) -> None:
    smtp_server.drop_after(1)
    with SmtpConnection(SmtpConfig.from_url(smtp_server.url)) as smtp:
        smtp.send(SENDER, "ada@example.org", mail("ada@example.org"))
        with pytest.raises(TemporaryFailure) as raised:
            smtp.send(SENDER, "bob@example.org", mail("bob@example.org"))
        smtp.send(SENDER, "cy@example.org", mail("cy@example.org"))
    assert str(raised.value) == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert smtp_server.copies() == {"ada@example.org": 1, "cy@example.org": 1}


def test_server_that_is_down_is_unavailable(smtp_server: SmtpServer) -> None:
    smtp_server.stop()
    with (
        SmtpConnection(SmtpConfig.from_url(smtp_server.url)) as smtp,
        pytest.raises(ServerUnavailable) as raised,
    ):
        smtp.send(SENDER, "ada@example.org", mail("ada@example.org"))
    where = f"{HOST}:{smtp_server.port}"
    assert str(raised.value) == f"mail server {where}: ConnectionRefusedError: [Errno 111] " + (
        "Connection refused"
    )


def test_server_that_does_not_answer_in_time_fails_temporarily(smtp_server: SmtpServer) -> None:
    smtp_server.slow(1.0)
    config = dataclasses.replace(SmtpConfig.from_url(smtp_server.url), timeout=0.2)
    with SmtpConnection(config) as smtp, pytest.raises(TemporaryFailure) as raised:
        smtp.send(SENDER, "ada@example.org", mail("ada@example.org"))
    assert str(raised.value) == (
        "SMTPServerDisconnected: Connection unexpectedly closed: timed out"
    )
    assert smtp_server.received == []


@pytest.fixture(scope="module")
def certificate_authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trusting(certificate_authority: trustme.CA) -> ssl.SSLContext:
    """A client context that trusts the test authority, as a real one trusts public CAs."""
    context = ssl.create_default_context()
    certificate_authority.configure_trust(context)
    return context


def tls_server(ca: trustme.CA, security: str, **options) -> Iterator[SmtpServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(context)
    server = SmtpServer(security, tls_context=context, **options)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def starttls_server(certificate_authority: trustme.CA) -> Iterator[SmtpServer]:
    """A server that requires STARTTLS and a login (ada / s3cret)."""
    yield from tls_server(certificate_authority, "starttls", logins={"ada": "s3cret"})


@pytest.fixture
def smtps_server(certificate_authority: trustme.CA) -> Iterator[SmtpServer]:
    yield from tls_server(certificate_authority, "tls")


def test_starttls_and_login(starttls_server: SmtpServer, trusting: ssl.SSLContext) -> None:
    config = SmtpConfig.from_url(starttls_server.url.replace("://", "://ada:s3cret@"))
    with SmtpConnection(config, ssl_context=trusting) as smtp:
        smtp.send(SENDER, "bob@example.org", mail("bob@example.org"))
    assert starttls_server.copies() == {"bob@example.org": 1}


def test_wrong_password_makes_the_server_unavailable(
    starttls_server: SmtpServer, trusting: ssl.SSLContext
) -> None:
    config = SmtpConfig.from_url(starttls_server.url.replace("://", "://ada:wrong@"))
    with (
        SmtpConnection(config, ssl_context=trusting) as smtp,
        pytest.raises(ServerUnavailable) as raised,
    ):
        smtp.send(SENDER, "bob@example.org", mail("bob@example.org"))
    where = f"{HOST}:{starttls_server.port}"
    assert str(raised.value) == (
        f"mail server {where}: 535 5.7.8 Authentication credentials invalid"
    )
    assert starttls_server.received == []


def test_implicit_tls(smtps_server: SmtpServer, trusting: ssl.SSLContext) -> None:
    with SmtpConnection(SmtpConfig.from_url(smtps_server.url), ssl_context=trusting) as smtp:
        smtp.send(SENDER, "bob@example.org", mail("bob@example.org"))
    assert smtps_server.copies() == {"bob@example.org": 1}


def test_untrusted_certificate_is_refused_by_default(smtps_server: SmtpServer) -> None:
    with (
        SmtpConnection(SmtpConfig.from_url(smtps_server.url)) as smtp,
        pytest.raises(ServerUnavailable, match="SSLCertVerificationError"),
    ):
        smtp.send(SENDER, "bob@example.org", mail("bob@example.org"))
    assert smtps_server.received == []
