"""Requests to URLs that users typed, without letting them reach our own network.

Every address a host name resolves to is checked, then the connection is made to the checked
address itself (the host name travels only in the Host header and TLS SNI), so a DNS answer
that changes between check and connect (rebinding) cannot redirect the request. Redirects
are never followed, and the time and bytes spent on a response are bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

# Cloud metadata services: never reachable, whatever the mode.
_METADATA = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("fd00:ec2::254"),
        ipaddress.ip_address("100.100.100.200"),
    }
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class BlockedDestination(Exception):
    """The URL is not one we will send to; the message says why, for the delivery log."""


class Unresolvable(BlockedDestination):
    """The host name has no address right now."""


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _embedded_ipv4(ip: IPAddress) -> IPAddress:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def blocked_reason(ip: IPAddress, *, allow_private: bool) -> str | None:
    """Why `ip` must not be contacted, or None. allow_private lets everything but metadata
    services through, for development."""
    ip = _embedded_ipv4(ip)
    if ip in _METADATA:
        return "metadata address"
    if allow_private:
        return None
    if ip.is_multicast:
        return "multicast address"
    if ip.is_unspecified:
        return "unspecified address"
    if ip.is_loopback:
        return "loopback address"
    if ip.is_link_local:
        return "link-local address"
    if ip.is_private:
        return "private address"
    if not ip.is_global:  # 100.64/10 shared space, reserved and documentation ranges
        return "non-public address"
    return None


@dataclass(frozen=True)
class Target:
    url: str
    host: str
    port: int
    address: str  # the checked address the connection is pinned to


@dataclass(frozen=True)
class Response:
    status: int
    headers: httpx.Headers
    body: bytes  # at most max_response_bytes
    elapsed_ms: int


class EgressGuard:
    def __init__(self, *, allow_private: bool, resolver: Resolver = system_resolver) -> None:
        self.allow_private = allow_private
        self._resolve = resolver

    def check_url(self, url: str) -> tuple[str, str, int]:
        """Static checks: scheme, host, no credentials. Returns (scheme, host, port)."""
        try:
            parts = urlsplit(url)
            port = parts.port
            httpx.URL(url)  # what urlsplit accepts, the sender may still refuse
        except (ValueError, httpx.InvalidURL) as exc:
            raise BlockedDestination(f"not a valid URL: {exc}") from None
        allowed = ("https", "http") if self.allow_private else ("https",)
        if parts.scheme not in allowed:
            raise BlockedDestination(f"the URL must use {' or '.join(allowed)}")
        if not parts.hostname:
            raise BlockedDestination("the URL has no host")
        if parts.username is not None or parts.password is not None:
            raise BlockedDestination("the URL must not carry credentials")
        default_port = 443 if parts.scheme == "https" else 80
        return parts.scheme, parts.hostname, port or default_port

    async def resolve(self, url: str) -> Target:
        """Resolve and check every address; any bad one refuses the URL (an attacker's DNS
        may answer with a mix, and the resolver's order is not ours to rely on)."""
        _, host, port = self.check_url(url)
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        else:
            try:
                answers = await self._resolve(host, port)
            except (OSError, UnicodeError, ValueError) as exc:  # IDNA and NUL errors too
                raise Unresolvable(f"cannot resolve {host}: {exc}") from None
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in answers]
        if not addresses:
            raise Unresolvable(f"{host} has no addresses")
        for address in addresses:
            reason = blocked_reason(address, allow_private=self.allow_private)
            if reason is not None:
                raise BlockedDestination(f"{host} resolves to a {reason} ({address})")
        return Target(url=url, host=host, port=port, address=str(addresses[0]))

    async def vet(self, url: str) -> None:
        """For saving a URL: everything `resolve` checks, but a name that does not resolve
        yet is accepted — DNS may come later, and every send checks again."""
        with contextlib.suppress(Unresolvable):
            await self.resolve(url)

    async def post(
        self,
        client: httpx.AsyncClient,
        url: str,
        *,
        content: bytes,
        headers: Mapping[str, str],
        timeout_seconds: float,
        max_response_bytes: int,
    ) -> Response:
        """POST to the checked address. Raises BlockedDestination, httpx.HTTPError or
        TimeoutError; a 3xx is returned as is, never followed."""
        target = await self.resolve(url)
        request_url = httpx.URL(url).copy_with(host=target.address)
        host_header = target.host if urlsplit(url).port is None else f"{target.host}:{target.port}"
        started = time.monotonic()
        async with asyncio.timeout(timeout_seconds):
            request = client.build_request(
                "POST",
                request_url,
                content=content,
                headers={**headers, "host": host_header},
                extensions={"sni_hostname": target.host},
            )
            response = await client.send(request, stream=True, follow_redirects=False)
            try:
                body = bytearray()
                async for chunk in response.aiter_raw():
                    body.extend(chunk[: max_response_bytes - len(body)])
                    if len(body) >= max_response_bytes:
                        break
            finally:
                await response.aclose()
        elapsed_ms = int((time.monotonic() - started) * 1000)
        return Response(response.status_code, response.headers, bytes(body), elapsed_ms)
