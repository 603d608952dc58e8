"""The SSRF address classifier on a table of addresses (classification only: no network)."""
from __future__ import annotations

import pytest

from ragbot.knowledge.fetching import blocked_reason

# address, refused by default?, refused with allow_private?, reason fragment
TABLE = [
    ("93.184.216.34", False, False, None),  # public IPv4
    ("2606:2800:220:1:248:1893:25c8:1946", False, False, None),  # public IPv6
    ("::ffff:93.184.216.34", False, False, None),  # mapped public
    ("127.0.0.1", True, False, "loopback"),
    ("127.8.9.10", True, False, "loopback"),
    ("::1", True, False, "loopback"),
    ("10.1.2.3", True, False, "private"),
    ("172.16.0.1", True, False, "private"),
    ("172.31.255.254", True, False, "private"),
    ("192.168.1.1", True, False, "private"),
    ("fd12:3456::1", True, False, "private"),  # unique-local fc00::/7
    ("fc00::1", True, False, "private"),
    ("169.254.169.254", True, True, "metadata"),
    ("169.254.170.2", True, True, "metadata"),
    ("100.100.100.200", True, True, "metadata"),
    ("fd00:ec2::254", True, True, "metadata"),  # inside fc00::/7, still refused
    ("169.254.1.1", True, True, "link-local"),
    ("fe80::1", True, True, "link-local"),
    ("fe80::1%eth0", True, True, "link-local"),
    ("100.64.0.1", True, True, "carrier-grade NAT"),
    ("100.127.255.254", True, True, "carrier-grade NAT"),
    ("0.0.0.0", True, True, "unspecified"),
    ("0.1.2.3", True, True, "this network"),
    ("::", True, True, "unspecified"),
    ("224.0.0.1", True, True, "multicast"),
    ("ff02::1", True, True, "multicast"),
    ("240.0.0.1", True, True, "reserved"),
    ("255.255.255.255", True, True, "reserved"),
    ("192.0.2.10", True, True, "non-public"),  # documentation range
    ("::ffff:127.0.0.1", True, False, "embeds 127.0.0.1"),
    ("::ffff:169.254.169.254", True, True, "metadata"),
    ("::ffff:10.0.0.1", True, False, "private"),
    ("::127.0.0.1", True, False, "embeds 127.0.0.1"),  # IPv4-compatible
    ("64:ff9b::a9fe:a9fe", True, True, "metadata"),  # NAT64 of 169.254.169.254
    ("2002:7f00:1::1", True, False, "embeds 127.0.0.1"),  # 6to4 of 127.0.0.1
    ("not-an-ip", True, True, "not an IP"),
]


@pytest.mark.parametrize("address, refused, refused_private, reason", TABLE,
                         ids=[row[0] for row in TABLE])
def test_classification(address, refused, refused_private, reason):
    default = blocked_reason(address)
    lifted = blocked_reason(address, allow_private=True)
    assert (default is not None) == refused, default
    assert (lifted is not None) == refused_private, lifted
    if reason:
        assert reason in default
