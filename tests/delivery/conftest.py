"""A real SMTP server (aiosmtpd) on loopback, requiring login, recording what it was sent."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

SMTP_USER = "reports@example.com"
SMTP_PASSWORD = "pw-Zq81!never-shown"


@dataclass
class Recorder:
    """The handler: counts DATA commands, keeps accepted messages, can refuse with a code."""

    refuse_with: str | None = None
    data_commands: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook
        self.data_commands += 1
        if self.refuse_with is not None:
            return self.refuse_with
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def authenticate(self, *args: Any) -> AuthResult:
        """aiosmtpd calls ``(server, session, envelope, mechanism, auth_data)``."""
        data = args[-1]
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = data.login.decode(), data.password.decode()
        self.logins.append((user, password))
        return AuthResult(success=user == SMTP_USER and password == SMTP_PASSWORD, handled=False)


@dataclass
class SmtpServer:
    host: str
    port: int
    recorder: Recorder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def start_smtp() -> Iterator[Callable[..., SmtpServer]]:
    """Factory: ``start_smtp(refuse_with=, tls_context= (STARTTLS), implicit_tls= (SSL),
    data_size_limit= (bytes; the SIZE it advertises and enforces with 552))`` → a server."""
    controllers: list[Controller] = []

    def start(
        refuse_with: str | None = None,
        tls_context: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        data_size_limit: int | None = None,
    ) -> SmtpServer:
        recorder = Recorder(refuse_with=refuse_with)
        port = free_port()
        extra: dict[str, Any] = {"tls_context": tls_context, "require_starttls": True} if tls_context else {}
        if data_size_limit is not None:
            extra["data_size_limit"] = data_size_limit
        controller = Controller(
            recorder,
            hostname="127.0.0.1",
            port=port,
            ssl_context=implicit_tls,
            authenticator=recorder.authenticate,
            auth_required=True,
            # aiosmtpd only counts STARTTLS as TLS; under implicit TLS it must be told not to insist.
            auth_require_tls=tls_context is not None,
            **extra,
        )
        controller.start()
        controllers.append(controller)
        return SmtpServer("127.0.0.1", port, recorder)

    yield start
    for controller in controllers:
        controller.stop()


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1, made with the openssl CLI."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl CLI not available to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return Certificate(cert, key)
