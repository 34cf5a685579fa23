"""doctor's amoCRM and SMTP lines against the simulator and a real SMTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cohort_service.app.doctor import Check, check_amocrm, check_smtp
from cohort_service.simulator.api import SimulatorApp
from cohort_service.simulator.faults import Limits
from cohort_service.simulator.generate import generate_account
from cohort_service.simulator.server import serve
from tests.conftest import make_settings
from tests.delivery.conftest import SMTP_PASSWORD, SMTP_USER, Certificate, SmtpServer, free_port

PLAINTEXT_AUTH = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture(scope="module")
def sim() -> Iterator[tuple[SimulatorApp, str]]:
    app = SimulatorApp(
        generate_account(seed=3, leads=20, weeks=2, filters_enabled=False, timezone="Asia/Yekaterinburg"),
        limits=Limits(rps=None),
    )
    with serve(app) as url:
        yield app, url


def _amo(url: str, token: str, **report: Any) -> list[Check]:
    return check_amocrm(make_settings(amocrm={"base_url": url, "token": token}, report=report))


def _lines(checks: list[Check]) -> list[tuple[str, bool]]:
    return [(c.name, c.ok) for c in checks]


def test_amocrm_all_good_with_an_admin_token(sim: tuple[SimulatorApp, str]) -> None:
    app, url = sim
    checks = _amo(url, app.oauth.issue_long_lived(), timezone="Europe/Moscow")
    assert _lines(checks) == [
        ("amoCRM reachable", True),
        ("amoCRM token valid", True),
        ("amoCRM filter add-on", True),
        ("amoCRM time zone", True),
        ("amoCRM admin rights", True),
    ]
    by_name = {c.name: c for c in checks}
    assert by_name["amoCRM reachable"].detail == f"{url} answers (HTTP 401 without a token)"
    assert by_name["amoCRM filter add-on"].detail.startswith("off: ")
    assert by_name["amoCRM time zone"].detail == "Asia/Yekaterinburg; the report uses Europe/Moscow"
    assert by_name["amoCRM admin rights"].detail == f"users readable ({len(app.account.users)} users)"


def test_amocrm_manager_token_lacks_admin_rights(sim: tuple[SimulatorApp, str]) -> None:
    app, url = sim
    manager = next(u for u in app.account.users if not u.is_admin and u.is_active)
    checks = _amo(url, app.oauth.issue_long_lived(user_id=manager.id))
    last = checks[-1]
    assert (last.name, last.ok) == ("amoCRM admin rights", False)
    assert "403" in last.detail
    assert "administrator" in last.fix


def test_amocrm_bad_token_says_how_to_get_a_new_one(sim: tuple[SimulatorApp, str]) -> None:
    _app, url = sim
    checks = _amo(url, "not-a-token")
    assert _lines(checks) == [("amoCRM reachable", True), ("amoCRM token valid", False)]
    assert "long-lived token" in checks[-1].fix
    assert "not-a-token" not in checks[-1].detail


def test_amocrm_unreachable_and_not_configured() -> None:
    [down] = _amo(f"http://127.0.0.1:{free_port()}", "t")
    assert (down.name, down.ok) == ("amoCRM reachable", False)
    assert "ConnectError" in down.detail
    assert "amocrm.base_url" in down.fix
    [skipped] = check_amocrm(make_settings())
    assert (skipped.ok, skipped.detail) == (
        True,
        "not configured (set amocrm.subdomain or amocrm.base_url) — skipped",
    )


def _email(server: SmtpServer, **extra: Any) -> dict[str, Any]:
    return {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "user": SMTP_USER,
        "password": SMTP_PASSWORD,
        "from": "a@example.com",
        "to": ["b@example.com"],
    } | extra


@PLAINTEXT_AUTH
def test_smtp_login_ok_and_wrong_password(start_smtp: Any) -> None:
    server: SmtpServer = start_smtp()
    [ok] = check_smtp(make_settings(email=_email(server)))
    assert ok.ok
    assert ok.detail == f"127.0.0.1:{server.port} (none): connected, logged in as {SMTP_USER}; no mail sent"
    [bad] = check_smtp(make_settings(email=_email(server, password="nope-123")))
    assert not bad.ok
    assert "refused the login" in bad.detail
    assert "COHORT_SMTP_PASSWORD" in bad.fix
    assert "nope-123" not in bad.detail + bad.fix
    assert server.recorder.data_commands == 0


def test_smtp_tls_mismatch_and_absent(start_smtp: Any, certificate: Certificate) -> None:
    server: SmtpServer = start_smtp(tls_context=certificate.server_context())
    # The system trust store does not know the test certificate.
    [tls] = check_smtp(make_settings(email=_email(server, security="starttls")))
    assert not tls.ok
    assert "certificate not trusted" in tls.detail
    assert "trust store" in tls.fix
    # Implicit TLS against a STARTTLS port: the handshake fails, the fix names email.security.
    [mismatch] = check_smtp(make_settings(email=_email(server, security="ssl")))
    assert not mismatch.ok
    assert "email.security" in mismatch.fix
    [closed] = check_smtp(make_settings(email=_email(server, port=free_port())))
    assert not closed.ok
    assert "firewall" in closed.fix
    [skipped] = check_smtp(make_settings())
    assert (skipped.ok, skipped.detail) == (True, "not configured (no email section in the config) — skipped")
