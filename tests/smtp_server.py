"""A real SMTP server on localhost (aiosmtpd) that records mail and misbehaves on request.

Faults, each as a mail server really shows it to a client: a recipient refused with 550,
451 for the next messages, the connection closed in the middle of a message, slowness, and
the whole server stopped (connection refused) and started again on the same port.
"""

from __future__ import annotations

import asyncio
import email
import re
import ssl
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    """One message as the server accepted it: envelope and parsed content."""

    sender: str
    recipients: list[str]
    message: EmailMessage


class Recorder:
    """aiosmtpd handler: keeps what it accepts, and applies the faults asked for."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.mail_commands = 0  # MAIL FROM seen: a client has begun that many messages
        self.refused: set[str] = set()
        self.busy = 0  # answer 451 to this many more messages
        self.drop_after: int | None = None  # accept this many more, then hang up mid-message
        self.drop_accepts = False  # whether the message the server hangs up on was kept
        self.delay = 0.0  # seconds before answering each MAIL FROM

    async def handle_MAIL(self, server, session, envelope, address, mail_options) -> str:
        self.mail_commands += 1
        await asyncio.sleep(self.delay)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address.lower() in self.refused:
            return f"550 5.1.1 <{address}>: no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.drop_after == 0:
            self.drop_after = None
            if self.drop_accepts:
                self._keep(envelope)
            server.transport.close()  # the client sees the connection closed, no reply
            return "421 4.4.2 connection dropped"  # never reaches the client
        if self.busy:
            self.busy -= 1
            return "451 4.3.0 try again later"
        if self.drop_after is not None:
            self.drop_after -= 1
        self._keep(envelope)
        return "250 2.0.0 accepted"

    def _keep(self, envelope) -> None:
        message = email.message_from_bytes(envelope.content, policy=default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))


class _Controller(Controller):
    """aiosmtpd's controller, on the port the OS picked when asked for port 0."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpServer:
    """``server.start()`` listens on 127.0.0.1 at ``server.url`` until ``server.stop()``.

    ``security``: plain, starttls (required before MAIL) or tls (implicit, like smtps);
    both need ``tls_context``. ``logins``: ``{user: password}`` the server accepts.
    """

    def __init__(
        self,
        security: str = "plain",
        tls_context: ssl.SSLContext | None = None,
        logins: dict[str, str] | None = None,
    ) -> None:
        self.recorder = Recorder()
        self.security = security
        self.tls_context = tls_context
        self.logins = logins
        self.port = 0
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        scheme = {"plain": "smtp", "starttls": "smtp+starttls", "tls": "smtps"}[self.security]
        return f"{scheme}://{HOST}:{self.port}"

    @property
    def received(self) -> list[Received]:
        return self.recorder.received

    def links(self, to: str, path: str) -> list[str]:
        """The paths of the links starting with ``path`` (``/verify``) in the plain text of the
        mails to ``to``, oldest first."""
        found = []
        for received in self.received:
            if to in received.recipients:
                text = received.message.get_body(("plain",)).get_content()
                found += re.findall(rf"https?://[^/\s]+({re.escape(path)}\S*)", text)
        return found

    def copies(self) -> Counter[str]:
        """How many messages each recipient got."""
        return Counter(r for received in self.received for r in received.recipients)

    def start(self) -> None:
        """Listen (again, on the same port once it has one)."""
        self._controller = _Controller(
            self.recorder, hostname=HOST, port=self.port, **self._options()
        )
        self._controller.start()
        self.port = self._controller.port

    def stop(self) -> None:
        """Stop listening: clients now get connection refused."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def refuse(self, *addresses: str) -> None:
        """Answer 550 (no such user) to these recipients."""
        self.recorder.refused.update(address.lower() for address in addresses)

    def answer_busy(self, messages: int) -> None:
        """Answer 451 (try again later) to the next ``messages`` messages."""
        self.recorder.busy = messages

    def drop_after(self, messages: int, keep_dropped: bool = False) -> None:
        """Accept ``messages`` more, then close the connection during the next one's DATA.

        ``keep_dropped``: the server keeps that message although the client never hears so
        (the window where at-least-once delivery makes a duplicate).
        """
        self.recorder.drop_after = messages
        self.recorder.drop_accepts = keep_dropped

    def slow(self, seconds: float) -> None:
        """Wait ``seconds`` before answering each MAIL FROM."""
        self.recorder.delay = seconds

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.security == "tls":
            options["ssl_context"] = self.tls_context
        elif self.security == "starttls":
            options.update(tls_context=self.tls_context, require_starttls=True)
        if self.logins is not None:
            options.update(authenticator=_authenticator(self.logins), auth_require_tls=False)
        return options


def _authenticator(logins: dict[str, str]) -> Callable[..., AuthResult]:
    def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
        login = auth_data.login.decode(), auth_data.password.decode()
        return AuthResult(success=logins.get(login[0]) == login[1], handled=False)

    return authenticate


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A plain SMTP server for one test, recording what it receives."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()
