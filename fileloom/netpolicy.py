"""Which network addresses outbound requests may reach.

Every user-supplied URL (renderer resources, webhook endpoints, storage endpoints) is hostile:
loopback, private, link-local, metadata and other special ranges are refused after DNS
resolution, unless settings.OUTBOUND_ALLOWED_NETWORKS lists them (development and tests).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Named explicitly (not only through ipaddress' is_private) so the policy reads as a list and
# does not change with the Python version.
BLOCKED_NETWORKS = [
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, including 169.254.169.254 (cloud metadata)
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "64:ff9b::/96",
        "fc00::/7",  # unique local, including fd00:ec2::254 (AWS metadata over IPv6)
        "fe80::/10",
        "ff00::/8",
    )
]


class UnsafeDestination(Exception):
    """The URL is not allowed: bad scheme, unresolvable host, or a forbidden address."""


def _normalise(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


Networks = list[ipaddress.IPv4Network | ipaddress.IPv6Network]


def is_address_allowed(address: IPAddress | str, allowed: Networks | None = None) -> bool:
    ip = _normalise(ipaddress.ip_address(address) if isinstance(address, str) else address)
    allowed = settings.OUTBOUND_ALLOWED_NETWORKS if allowed is None else allowed
    if any(ip in net for net in allowed if net.version == ip.version):
        return True
    return not any(ip in net for net in BLOCKED_NETWORKS if net.version == ip.version)


def resolve_checked(host: str, port: int, allowed: Networks | None = None) -> list[tuple[Any, ...]]:
    """getaddrinfo() for host, refusing it if *any* of its addresses is forbidden."""
    host = host.strip("[]")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeDestination(f"cannot resolve host {host!r}: {exc}") from None
    if not infos:
        raise UnsafeDestination(f"host {host!r} has no addresses")
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]
        if not is_address_allowed(address, allowed):
            raise UnsafeDestination(f"host {host!r} resolves to a forbidden address ({address})")
    return infos


def check_url(
    url: str, *, schemes: tuple[str, ...] = ("http", "https"), resolve: bool = True, allowed: Networks | None = None
) -> None:
    """Validate a user-supplied URL before storing or fetching it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeDestination(f"invalid URL: {exc}") from None
    if parts.scheme.lower() not in schemes:
        raise UnsafeDestination(f"URL scheme must be one of {', '.join(schemes)}")
    if not parts.hostname:
        raise UnsafeDestination("URL has no host")
    if parts.username or parts.password:
        raise UnsafeDestination("URL must not contain credentials")
    if resolve:
        resolve_checked(parts.hostname, port or (443 if parts.scheme == "https" else 80), allowed)
