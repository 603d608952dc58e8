"""KNOWLEDGE_STORE and its DSN: read once into Settings, required together, never shown with the
password (Settings' repr, the redacted form, driver messages)."""
from __future__ import annotations

import os
import socket

import pytest
from ragbot.errors import ConfigError
from ragbot.knowledge.postgres.dsn import Scrubber, check, redact
from ragbot.settings import Settings

DSN = "postgresql://ragbot:s3cr3t-pw@db.internal:5432/ragbot?sslmode=require"


def test_local_is_the_default(tmp_path):
    s = Settings.from_env(tmp_path, {})
    assert (s.knowledge_store, s.knowledge_dsn, s.knowledge_poll_seconds) == ("local", None, 5.0)
    assert s.replica_name == f"{socket.gethostname()}/{os.getpid()}"


def test_postgres_with_a_dsn_from_the_environment_or_a_file(tmp_path):
    s = Settings.from_env(tmp_path, {"KNOWLEDGE_STORE": "postgres", "KNOWLEDGE_DSN": DSN,
                                     "KNOWLEDGE_POLL_SECONDS": "0.5", "KNOWLEDGE_REPLICA": "pod-a"})
    assert (s.knowledge_store, s.knowledge_dsn, s.knowledge_poll_seconds, s.replica_name) == (
        "postgres", DSN, 0.5, "pod-a")
    assert "s3cr3t" not in repr(s)
    secret = tmp_path / "dsn"
    secret.write_text(DSN + "\n")
    s = Settings.from_env(tmp_path, {"KNOWLEDGE_STORE": "POSTGRES", "KNOWLEDGE_DSN_FILE": str(secret)})
    assert s.knowledge_dsn == DSN


@pytest.mark.parametrize("env, fragments", [
    ({"KNOWLEDGE_STORE": "postgres"}, ["KNOWLEDGE_STORE=postgres needs KNOWLEDGE_DSN", "KNOWLEDGE_DSN_FILE"]),
    ({"KNOWLEDGE_STORE": "redis"}, ["KNOWLEDGE_STORE='redis'", "local, postgres"]),
    ({"KNOWLEDGE_STORE": "postgres", "KNOWLEDGE_DSN_FILE": "/nonexistent/dsn"},
     ["KNOWLEDGE_DSN_FILE='/nonexistent/dsn' cannot be read", "FileNotFoundError"]),
    ({"KNOWLEDGE_STORE": "postgres", "KNOWLEDGE_DSN": DSN, "KNOWLEDGE_POLL_SECONDS": "0"},
     ["KNOWLEDGE_POLL_SECONDS=0", ">= 0.1"]),
])
def test_bad_settings_say_what_to_do(tmp_path, env, fragments):
    with pytest.raises(ConfigError) as err:
        Settings.from_env(tmp_path, env)
    for fragment in fragments:
        assert fragment in str(err.value)


def test_an_empty_dsn_file_is_refused(tmp_path):
    (tmp_path / "dsn").write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        Settings.from_env(tmp_path, {"KNOWLEDGE_STORE": "postgres", "KNOWLEDGE_DSN_FILE": str(tmp_path / "dsn")})


@pytest.mark.parametrize("dsn, shown", [
    (DSN, "postgresql://ragbot:***@db.internal:5432/ragbot?sslmode=require"),
    ("postgres://ragbot@db/kb?password=s3cr3t-pw&sslmode=verify-full",
     "postgres://ragbot@db/kb?password=***&sslmode=verify-full"),
    ("host=db user=ragbot password='s3cr3t pw' dbname=kb", "host=db user=ragbot password=*** dbname=kb"),
    ("host=db password=s3cr3t-pw", "host=db password=***"),
    ("postgresql://ragbot@db/kb", "postgresql://ragbot@db/kb"),
    ("postgresql://postgres:@/kb?host=/tmp/pg", "postgresql://postgres:***@/kb?host=/tmp/pg"),
])
def test_redact(dsn, shown):
    assert redact(dsn) == shown


def test_scrubber_removes_the_password_and_the_raw_dsn_from_any_text():
    scrub = Scrubber(DSN)
    text = scrub(f'connection to "{DSN}" failed:\n  FATAL: password "s3cr3t-pw" rejected')
    assert "s3cr3t" not in text and "\n" not in text
    assert redact(DSN) in text


def test_an_unparsable_dsn_is_refused_without_repeating_it():
    with pytest.raises(ConfigError) as err:
        check("host=db password='s3cr3t-pw")  # unterminated quote
    assert "s3cr3t" not in str(err.value) and "not a valid libpq connection string" in str(err.value)
