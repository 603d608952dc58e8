"""The page's Knowledge base panel names the store: local, or the shared version, its writer and
when, and says when the database is unreachable; every value from the status is escaped."""
from __future__ import annotations

from client.knowledge import status_markdown

BASE = {"documents": [], "totals": {"documents": 0, "chunks": 0}, "last_rebuild": None}


def test_a_local_store():
    text = status_markdown({**BASE, "store": {"kind": "local", "replica": "box/1", "role": "writer"}})
    assert "Store: local (this replica's own index)." in text


def test_a_shared_store_names_the_version_its_writer_and_when():
    store = {"kind": "postgres", "database": "postgresql://ragbot:***@db/ragbot", "replica": "pod-b",
             "role": "reader", "connected": True,
             "version": {"id": 12, "writer": "pod-a", "published": "2026-12-03T10:00:00Z"}}
    text = status_markdown({**BASE, "store": store})
    assert ("Store: shared PostgreSQL postgresql:\\/\\/ragbot:\\*\\*\\*@db/ragbot · version **12**, "
            "published by pod-a at 2026-12-03T10:00:00Z · this replica: pod-b (reader).") in text
    assert "unreachable" not in text


def test_an_unreachable_database_is_shown_and_values_are_escaped():
    store = {"kind": "postgres", "database": "db", "replica": "<img src=x>", "role": "reader",
             "connected": False, "lost_since": "2026-12-03T10:05:00Z", "error": "OperationalError: [boom](x)",
             "version": None}
    text = status_markdown({**BASE, "store": store})
    assert "no version published yet" in text and "\\<img src=x\\>" in text and "](x)" not in text
    assert "⚠️ Database unreachable since 2026-12-03T10:05:00Z" in text


def test_a_status_without_a_store_shows_no_store_line():
    assert "Store:" not in status_markdown(BASE)
