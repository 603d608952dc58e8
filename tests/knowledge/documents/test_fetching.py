"""fetch_url against a real server on 127.0.0.1 (never any other address)."""
from __future__ import annotations

import time
from urllib.parse import quote

import pytest

from ragbot.errors import (BlockedAddressError, DocumentError, FetchError, FetchTimeoutError,
                           HttpStatusError, TooLargeError, TooManyRedirectsError)
from ragbot.knowledge import fetching
from ragbot.knowledge.fetching import FetchPolicy, fetch_url

OPEN = FetchPolicy(allow_private=True, timeout=5)


def test_fetch_ok_with_allow_private(local_server):
    doc = fetch_url(local_server.url("/files/hello.txt"), OPEN)
    assert doc.content == b"Hello from the local server.\n"
    assert doc.content_type == "text/plain; charset=utf-8"
    assert doc.status == 200
    assert doc.url == doc.final_url == local_server.url("/files/hello.txt")
    assert local_server.requests[0].host == f"127.0.0.1:{local_server.port}"


def test_loopback_refused_by_default_and_server_sees_nothing(local_server):
    with pytest.raises(BlockedAddressError, match="loopback.*DOCS_ALLOW_PRIVATE_URLS"):
        fetch_url(local_server.url("/files/hello.txt"), FetchPolicy())
    assert local_server.requests == []


def test_localhost_name_refused_unless_allow_private(local_server):
    url = local_server.url("/files/hello.txt", host="localhost")
    with pytest.raises(BlockedAddressError, match="localhost"):
        fetch_url(url, FetchPolicy())
    assert local_server.requests == []
    # allowed with allow_private (checked without connecting: localhost may be ::1 first)
    address = fetching.resolve_vetted("localhost", local_server.port, allow_private=True)
    assert address in ("127.0.0.1", "::1")


def test_errors_are_document_errors():
    for cls in (BlockedAddressError, FetchTimeoutError, TooLargeError, HttpStatusError,
                TooManyRedirectsError, FetchError):
        assert issubclass(cls, DocumentError)


def test_redirect_chain_followed(local_server):
    doc = fetch_url(local_server.url("/chain/4"), OPEN)  # exactly 5 redirects
    assert doc.content.startswith(b"Hello")
    assert doc.final_url == local_server.url("/files/hello.txt")
    assert local_server.paths == [f"/chain/{n}" for n in range(4, -1, -1)] + ["/files/hello.txt"]


def test_relative_location_resolved(local_server):
    doc = fetch_url(local_server.url("/redirect?to=files/hello.txt"), OPEN)
    assert doc.final_url == local_server.url("/files/hello.txt")


def test_more_than_max_redirects_refused(local_server):
    with pytest.raises(TooManyRedirectsError, match="more than 5"):
        fetch_url(local_server.url("/chain/5"), OPEN)  # 6 redirects
    assert len(local_server.requests) == 6  # 1 + 5 redirects, the 7th never sent


@pytest.mark.parametrize("target", [
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:127.0.0.1]/",  # judged as the embedded 127.0.0.1: loopback
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
    "http://169.254.170.2/v2/credentials",
])
def test_redirect_to_blocked_address_refused_before_connect(local_server, monkeypatch, target):
    policy = FetchPolicy(allow_private=False, timeout=5)
    # The first hop is 127.0.0.1 itself, so let the guard admit exactly that hop.
    real_vet = fetching.resolve_vetted
    hops = []

    def vet(host, port, *, allow_private):
        hops.append(host)
        return real_vet(host, port, allow_private=(host == "127.0.0.1") or allow_private)

    monkeypatch.setattr(fetching, "resolve_vetted", vet)
    with pytest.raises(BlockedAddressError):
        fetch_url(local_server.url(f"/redirect?to={quote(target, safe='')}"), policy)
    assert len(local_server.requests) == 1  # only the redirecting hop reached a server
    assert len(hops) == 2  # the redirect target was vetted, and refused: never connected


def test_metadata_refused_even_with_allow_private(local_server):
    with pytest.raises(BlockedAddressError, match="metadata"):
        fetch_url(local_server.url("/redirect?to=http://169.254.169.254/latest/meta-data/"), OPEN)
    assert len(local_server.requests) == 1  # the only connection was to our server


def test_mapped_loopback_refused_without_allow_private(local_server):
    # ::ffff:127.0.0.1 is judged as the IPv4 it embeds -> loopback -> refused.
    with pytest.raises(BlockedAddressError, match="embeds 127.0.0.1"):
        fetching.resolve_vetted("::ffff:127.0.0.1", 80, allow_private=False)
    with pytest.raises(BlockedAddressError, match="embeds 127.0.0.1"):
        fetch_url("http://[::ffff:127.0.0.1]/", FetchPolicy())
    assert local_server.requests == []


def test_connects_to_the_vetted_address_with_original_host_header(local_server, fake_dns):
    lookups = fake_dns({"docs.test": ["127.0.0.1"]})  # a second lookup would fail
    doc = fetch_url(local_server.url("/files/hello.txt", host="docs.test"), OPEN)
    assert doc.content.startswith(b"Hello")
    assert lookups == ["docs.test"]  # resolved exactly once
    assert local_server.requests[0].host == f"docs.test:{local_server.port}"


def test_mixed_dns_answer_refused(local_server, monkeypatch):
    import socket

    def two_answers(host, port, *a, **k):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))]

    monkeypatch.setattr(socket, "getaddrinfo", two_answers)
    with pytest.raises(BlockedAddressError, match="169.254.169.254"):
        fetch_url(local_server.url("/files/hello.txt", host="docs.test"), OPEN)
    assert local_server.requests == []


def test_timeout_raises_quickly(local_server):
    start = time.monotonic()
    with pytest.raises(FetchTimeoutError, match="timed out"):
        fetch_url(local_server.url("/slow?seconds=5"), FetchPolicy(allow_private=True, timeout=1))
    assert time.monotonic() - start < 2.5


def test_total_deadline_bounds_a_dripping_server(local_server):
    # every byte arrives well within the per-read timeout, but the whole body would take 6 s
    start = time.monotonic()
    with pytest.raises(FetchTimeoutError):
        fetch_url(local_server.url("/drip?n=20&every=0.3"),
                  FetchPolicy(allow_private=True, timeout=1))
    assert time.monotonic() - start < 2.5


@pytest.mark.parametrize("cl", ["1", "0"])
def test_oversized_body_refused(local_server, cl):
    policy = FetchPolicy(allow_private=True, timeout=5, max_bytes=100_000)
    with pytest.raises(TooLargeError, match="100000-byte limit"):
        fetch_url(local_server.url(f"/huge?n=5000000&cl={cl}"), policy)


def test_body_at_the_limit_accepted(local_server):
    policy = FetchPolicy(allow_private=True, timeout=5, max_bytes=200_000)
    doc = fetch_url(local_server.url("/huge?n=200000&cl=0"), policy)
    assert len(doc.content) == 200_000


def test_404_is_http_status_error(local_server):
    with pytest.raises(HttpStatusError, match="HTTP 404") as info:
        fetch_url(local_server.url("/missing"), OPEN)
    assert info.value.status == 404


@pytest.mark.parametrize("url, reason", [
    ("ftp://127.0.0.1/x", "only http and https"),
    ("file:///etc/passwd", "only http and https"),
    ("http:///nohost", "no host"),
    ("http://user:pw@127.0.0.1/", "credentials"),
])
def test_bad_urls_refused(url, reason):
    with pytest.raises(FetchError, match=reason):
        fetch_url(url, OPEN)


def test_connection_refused_is_fetch_error():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(FetchError, match="cannot connect") as info:
        fetch_url(f"http://127.0.0.1:{port}/", OPEN)
    assert not isinstance(info.value, FetchTimeoutError)


# ---------------------------------------------------------------- TLS
def test_https_verifies_the_original_name_on_the_vetted_ip(tls_server, tls_cert, fake_dns):
    lookups = fake_dns({"docs.test": ["127.0.0.1"]})
    policy = FetchPolicy(allow_private=True, timeout=5, ca_file=str(tls_cert[0]))
    doc = fetch_url(tls_server.url("/files/hello.txt", host="docs.test"), policy)
    assert doc.content.startswith(b"Hello")
    assert lookups == ["docs.test"]
    assert tls_server.requests[0].host == f"docs.test:{tls_server.port}"


def test_https_wrong_name_fails_verification(tls_server, tls_cert, fake_dns):
    fake_dns({"other.test": ["127.0.0.1"]})
    policy = FetchPolicy(allow_private=True, timeout=5, ca_file=str(tls_cert[0]))
    with pytest.raises(FetchError, match="TLS"):
        fetch_url(tls_server.url("/files/hello.txt", host="other.test"), policy)
    assert tls_server.requests == []


def test_https_untrusted_cert_fails_verification(tls_server, fake_dns):
    fake_dns({"docs.test": ["127.0.0.1"]})
    with pytest.raises(FetchError, match="TLS"):
        fetch_url(tls_server.url("/files/hello.txt", host="docs.test"), OPEN)
    assert tls_server.requests == []
