"""Safe fetching of document URLs listed in docs.txt (SSRF guard, size cap, deadline).

How the guard holds: for every hop (the first request and each redirect) we resolve the
host ONCE with `socket.getaddrinfo`, refuse the hop if ANY returned address is not
allowed (see `blocked_reason`), and then open a urllib3 connection pool whose *host is
the vetted IP literal*. The original host goes into the `Host` header, and for HTTPS
into `server_hostname`/`assert_hostname`, so SNI and certificate verification still
check the real name. Connecting to an IP literal needs no second DNS lookup, so a DNS
answer that changes between check and connect (DNS rebinding) cannot redirect us.
Redirects are followed by hand so every Location is vetted the same way. We use urllib3
directly rather than `requests` because requests honours HTTP(S)_PROXY from the
environment, which would hand the connection to a proxy we never vetted.

TLS is always verified (certifi's CA bundle, or `FetchPolicy.ca_file` for a private CA).

Conditional requests: given the `Validators` (ETag, Last-Modified) of the copy we hold,
`fetch_url` sends If-None-Match / If-Modified-Since and a 304 comes back as a
FetchedDocument with `not_modified` set and no body (nothing downloaded).
"""
from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import certifi
import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, SSLError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from ..errors import (
    BlockedAddressError,
    FetchError,
    FetchTimeoutError,
    HttpStatusError,
    TooLargeError,
    TooManyRedirectsError,
    UnreachableError,
)

__all__ = ["FetchPolicy", "FetchedDocument", "Validators", "fetch_url", "blocked_reason",
           "resolve_vetted"]

USER_AGENT = "ragbot-docs/1.0"
_CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


# ---------------------------------------------------------------- policy / result
@dataclass(frozen=True)
class FetchPolicy:
    """Limits for one fetch.

    `timeout` bounds the connect, every socket read, AND the whole fetch including
    redirects (a server dripping one byte per second cannot hold us past it).
    `allow_private` (env DOCS_ALLOW_PRIVATE_URLS at the settings edge) lifts the guard
    for loopback and private ranges only (10/8, 172.16/12, 192.168/16, fc00::/7);
    cloud metadata, link-local, CGNAT, multicast etc. stay refused.
    `ca_file` replaces certifi's bundle (e.g. a corporate CA); verification stays on.
    """

    max_bytes: int = 20 * 1024 * 1024
    timeout: float = 20.0
    max_redirects: int = 5
    allow_private: bool = False
    ca_file: str | None = None


@dataclass(frozen=True)
class Validators:
    """What the server said identifies the copy we hold (either may be None)."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        out = {}
        if self.etag:
            out["If-None-Match"] = self.etag
        if self.last_modified:
            out["If-Modified-Since"] = self.last_modified
        return out


@dataclass(frozen=True)
class FetchedDocument:
    url: str  # as requested
    final_url: str  # after redirects
    content: bytes  # b"" when not_modified
    content_type: str | None  # the raw header, e.g. "text/html; charset=utf-8"
    status: int
    validators: Validators = Validators()  # of this response, for the next conditional fetch

    @property
    def not_modified(self) -> bool:
        return self.status == 304


# ---------------------------------------------------------------- address guard
_V4 = ipaddress.IPv4Address
_net = ipaddress.ip_network

# Never allowed, whatever allow_private says. Most are also link-local/CGNAT/ULA; listed
# explicitly so the reason names them and allow_private can never lift them.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS/GCP/Azure/OpenStack/Oracle instance metadata
    "169.254.169.253",  # AWS VPC DNS
    "169.254.170.2",  # AWS ECS task metadata / credentials
    "169.254.170.23",  # AWS EKS pod identity
    "100.100.100.200",  # Alibaba Cloud metadata
    "fd00:ec2::254",  # AWS metadata over IPv6
    "fd00:ec2::253",  # AWS VPC DNS over IPv6
    "fd00:ec2::23",  # AWS EKS pod identity over IPv6
))
_PRIVATE = tuple(_net(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))
_THIS_NETWORK = _net("0.0.0.0/8")
_CGNAT = _net("100.64.0.0/10")
_NAT64 = _net("64:ff9b::/96")
_V4_COMPAT = _net("::/96")


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and would reach (mapped, compatible,
    NAT64, 6to4, Teredo client), judged instead of the IPv6 wrapper."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _V4_COMPAT and int(ip) > 1:  # ::a.b.c.d (but not :: or ::1)
        return _V4(int(ip) & 0xFFFFFFFF)
    if ip in _NAT64:
        return _V4(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def blocked_reason(address: str, *, allow_private: bool = False) -> str | None:
    """Why fetching from `address` (an IP literal) is refused, or None if it is allowed.

    Pure classification: never touches the network.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return f"{address!r} is not an IP address"
    if ip in METADATA_ADDRESSES:
        return f"{ip} is a cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_v4(ip)
        if inner is not None:
            why = blocked_reason(str(inner), allow_private=allow_private)
            return f"{ip} embeds {inner}: {why}" if why else None
    if ip.is_unspecified or (isinstance(ip, _V4) and ip in _THIS_NETWORK):
        return f"{ip} is an unspecified / 'this network' address"
    if ip.is_link_local:
        return f"{ip} is link-local"
    if ip.is_multicast:
        return f"{ip} is multicast"
    if isinstance(ip, _V4) and ip in _CGNAT:
        return f"{ip} is carrier-grade NAT shared space (100.64.0.0/10)"
    if ip.is_loopback:
        return None if allow_private else (
            f"{ip} is loopback (set DOCS_ALLOW_PRIVATE_URLS=true to allow)")
    if any(ip in n for n in _PRIVATE if n.version == ip.version):
        return None if allow_private else (
            f"{ip} is a private address (set DOCS_ALLOW_PRIVATE_URLS=true to allow)")
    if ip.is_reserved or not ip.is_global:
        return f"{ip} is a reserved / non-public address"
    return None


def resolve_vetted(host: str, port: int, *, allow_private: bool) -> str:
    """Resolve `host` once and return the address to connect to.

    Raises BlockedAddressError if ANY address of the answer is refused (a mixed
    answer is a rebinding trick), FetchError if the name does not resolve.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise UnreachableError(f"cannot resolve host {host!r}: {e}") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise UnreachableError(f"cannot resolve host {host!r}: no addresses")
    for address in addresses:
        why = blocked_reason(address, allow_private=allow_private)
        if why:
            raise BlockedAddressError(f"refused {host!r}: {why}")
    return addresses[0]


# ---------------------------------------------------------------- fetching
@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # ASCII (IDNA) host, no brackets
    port: int
    host_header: str
    path: str  # request target: path + query


def _parse_target(url: str) -> _Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise FetchError(f"invalid URL {url!r}: {e}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(f"unsupported URL scheme {scheme or '(none)'!r} in {url!r}: "
                         "only http and https are fetched")
    if not parts.hostname:
        raise FetchError(f"invalid URL {url!r}: no host")
    if parts.username is not None or parts.password is not None:
        raise FetchError(f"refused {url!r}: credentials in URLs are not supported")
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError as e:
        raise FetchError(f"invalid host in {url!r}: {e}") from None
    default_port = 443 if scheme == "https" else 80
    port = port or default_port
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if port == default_port else f"{shown}:{port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(scheme, host, port, host_header, path)


def _remaining(deadline: float, url: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchTimeoutError(f"timed out fetching {url}")
    return left


def _pool(target: _Target, ip: str, policy: FetchPolicy) -> urllib3.HTTPConnectionPool:
    common = dict(maxsize=1, retries=False, headers={})
    if target.scheme == "http":
        return urllib3.HTTPConnectionPool(ip, target.port, **common)
    context = ssl.create_default_context(cafile=policy.ca_file or certifi.where())
    return urllib3.HTTPSConnectionPool(
        ip, target.port, ssl_context=context, cert_reqs="CERT_REQUIRED",
        server_hostname=target.host, assert_hostname=target.host, **common)


def _read_body(response, url: str, policy: FetchPolicy, deadline: float) -> bytes:
    length = response.headers.get("Content-Length")
    if length and length.strip().isdigit() and int(length) > policy.max_bytes:
        raise TooLargeError(f"{url} is {int(length)} bytes, over the "
                            f"{policy.max_bytes}-byte limit")
    chunks, size = [], 0
    while True:
        left = _remaining(deadline, url)
        sock = getattr(response.connection, "sock", None)
        if sock is not None:  # each read waits at most min(timeout, time left)
            sock.settimeout(min(policy.timeout, left))
        chunk = response.read1(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > policy.max_bytes:
            raise TooLargeError(f"{url} is over the {policy.max_bytes}-byte limit "
                                "(stopped reading)")
        chunks.append(chunk)


def _validators(response) -> Validators:
    return Validators(response.headers.get("ETag"), response.headers.get("Last-Modified"))


def fetch_url(url: str, policy: FetchPolicy = FetchPolicy(),
              validators: Validators | None = None) -> FetchedDocument:
    """GET `url` under `policy`; return the body or raise a FetchError subclass.

    With `validators` the request is conditional: a 304 returns `not_modified`, no body."""
    deadline = time.monotonic() + policy.timeout
    conditional = validators.headers() if validators else {}
    current = url
    for hop in range(policy.max_redirects + 1):
        target = _parse_target(current)
        ip = resolve_vetted(target.host, target.port, allow_private=policy.allow_private)
        left = _remaining(deadline, url)
        pool, response = _pool(target, ip, policy), None
        try:
            response = pool.urlopen(
                "GET", target.path,
                headers={"Host": target.host_header, "User-Agent": USER_AGENT,
                         "Accept-Encoding": "identity", "Accept": "*/*", **conditional},
                redirect=False, retries=False, preload_content=False, decode_content=True,
                timeout=urllib3.Timeout(connect=min(policy.timeout, left),
                                        read=min(policy.timeout, left)))
            status = response.status
            location = response.headers.get("Location")
            if status in _REDIRECTS and location:
                current = urljoin(current, location.strip())
                continue
            if status == 304 and conditional:
                return FetchedDocument(url, current, b"", response.headers.get("Content-Type"),
                                       status, _validators(response))
            if not 200 <= status < 300:
                raise HttpStatusError(f"{current} answered HTTP {status}", status)
            content = _read_body(response, current, policy, deadline)
            return FetchedDocument(url, current, content, response.headers.get("Content-Type"),
                                   status, _validators(response))
        except NewConnectionError as e:  # subclasses ConnectTimeoutError in urllib3 2
            raise UnreachableError(f"cannot connect to {current} ({ip}): {e}") from None
        except (Urllib3Timeout, TimeoutError) as e:  # TimeoutError == socket.timeout
            raise FetchTimeoutError(f"timed out fetching {current} "
                                    f"(limit {policy.timeout:g} s): {e}") from None
        except SSLError as e:
            raise FetchError(f"TLS failure for {target.host}: {e}") from None
        except (HTTPError, OSError) as e:
            raise UnreachableError(f"cannot fetch {current}: {e}") from None
        finally:  # never reuse connections: each hop's host/IP is vetted afresh
            if response is not None:
                response.close()
            pool.close()
    raise TooManyRedirectsError(
        f"{url} redirected more than {policy.max_redirects} times (last: {current})")
