"""What ``amocrm.base_url`` may point at: the account (or a proxy, Kommo, the simulator), nothing else.

The token travels with every request, so a base URL is refused when it would hand the token to
something that is not the account:

* a link-local or cloud-metadata address (169.254.0.0/16, fe80::/10, fd00::/8 as the issue on hostile
  input asks, Alibaba's 100.100.100.200, ``metadata.google.internal``…), however the address is
  spelled (``0xa9fea9fe``, ``2852039166`` and ``::ffff:169.254.169.254`` all reach 169.254.169.254);
* cleartext ``http://`` to anything but loopback, unless ``amocrm.allow_insecure = true`` says the
  operator knows (a TLS-terminating sidecar on a private network);
* a query string or fragment (every API path is appended to the base, so they would corrupt it) and a
  user name or password (amoCRM authenticates with the token; a password in a URL leaks into logs).

Messages never repeat the URL: it may hold a secret.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

_LINK_LOCAL_AND_METADATA = (
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("100.100.100.200/32"),
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("fd00::/8"),
)
_METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.azure.internal",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
_EXAMPLE = "https://mycompany.amocrm.ru"


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP a host names literally, including the legacy IPv4 spellings the C resolver accepts."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))  # "2852039166", "0xa9.254.0x10.1"…
        except (OSError, ValueError):
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_loopback(host: str) -> bool:
    address = _address(host)
    return host == "localhost" or host.endswith(".localhost") or (address is not None and address.is_loopback)


def _split(value: str) -> SplitResult:
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError("must not contain spaces or control characters")
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http(s) URL such as {_EXAMPLE}")
    try:
        port = parts.port  # raises on a port outside 0-65535 or not a number
    except ValueError:
        port = 0
    if port == 0:
        raise ValueError("has an invalid port (use 1-65535)")
    return parts


def check_base_url(value: str, *, allow_insecure: bool) -> str:
    """Raise ValueError (without echoing the URL) unless the token may be sent there."""
    parts = _split(value)
    host = parts.hostname or ""
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not hold a user name or password (amoCRM authenticates with amocrm.token)")
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ValueError(f"must not have a query string or fragment, just the account's root like {_EXAMPLE}")
    address = _address(host)
    if host.rstrip(".") in _METADATA_HOSTS or (
        address is not None and any(address in net for net in _LINK_LOCAL_AND_METADATA)
    ):
        raise ValueError(f"points at a link-local or cloud-metadata address ({host}), not at amoCRM")
    if parts.scheme.lower() == "http" and not is_loopback(host) and not allow_insecure:
        raise ValueError(
            f"sends the token in cleartext to {host}: use https:// (or set amocrm.allow_insecure = true"
            " for a trusted private network)"
        )
    return value.rstrip("/")
