"""Shared knowledge base tests: a real PostgreSQL (the session's pgserver), one database per
test, and helpers to read a host's status and metrics. Connections go only to 127.0.0.1 and
the server's Unix socket."""
from __future__ import annotations

import hashlib
import json
import re
import urllib.request

import pytest

from tests.knowledge.documents.conftest import only_local_connections  # noqa: F401 - autouse guard


@pytest.fixture
def pg_dsn(postgres, request) -> str:
    """A fresh database for this test on the session's server."""
    name = "t_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:16]
    return postgres.create_database(name)


def sql(dsn: str, query: str, *params):
    """Rows of one query (a connection of the test's own)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


def status(host) -> dict:
    with urllib.request.urlopen(host.rest_url + "/v2/models/python_model/status", timeout=10) as r:
        return json.loads(r.read())


def metric(host, name: str) -> float:
    with urllib.request.urlopen(host.rest_url + "/metrics", timeout=10) as r:
        text = r.read().decode()
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))
