"""The PostgreSQL connection string (KNOWLEDGE_DSN): how it is shown, and how it connects.

The password never reaches a log line or the status JSON: `redact` replaces it in a URI
(`postgresql://ragbot:***@db/ragbot`, `?password=***`) or in key=value form, and a `Scrubber`
removes it (and the raw DSN) from any message, e.g. a driver's error text. Prefer keeping the
password out of the DSN altogether: libpq reads PGPASSWORD and PGPASSFILE itself.
"""
from __future__ import annotations

import re

from ...errors import ConfigError

MASK = "***"
# libpq keepalives: a replica notices a vanished database host within ~25 s instead of
# waiting on a dead TCP connection (ignored on Unix sockets)
CONNECT_OPTIONS = {"connect_timeout": 10, "keepalives": 1, "keepalives_idle": 10,
                   "keepalives_interval": 5, "keepalives_count": 3}

_URI_PASSWORD = re.compile(r"(?P<head>^[a-z]+://[^:/@?#]*:)(?P<pw>[^@/?#]*)(?=@)", re.I)
_PARAM_PASSWORD = re.compile(r"(?P<head>[?&]password=)(?P<pw>[^&#]*)", re.I)
_KV_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|\S+)", re.I)


def redact(dsn: str) -> str:
    """The DSN as it may be shown: every password replaced by ***."""
    if re.match(r"^[a-z]+://", dsn, re.I):
        dsn = _URI_PASSWORD.sub(lambda m: m["head"] + MASK, dsn)
        return _PARAM_PASSWORD.sub(lambda m: m["head"] + MASK, dsn)
    return _KV_PASSWORD.sub(lambda m: m["head"] + MASK, dsn)


def check(dsn: str) -> dict:
    """The DSN's parameters; ConfigError (which does not repeat the DSN) when libpq cannot
    parse it."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        return conninfo_to_dict(dsn)
    except Exception:  # noqa: BLE001 - its message may quote the DSN, password included
        raise ConfigError(f"KNOWLEDGE_DSN is not a valid libpq connection string (shown redacted: "
                          f"{redact(dsn)}); e.g. postgresql://ragbot@db:5432/ragbot") from None


class Scrubber:
    """Removes the DSN and its password from any text (driver errors quote connection details)."""

    def __init__(self, dsn: str):
        self.shown = redact(dsn)
        self._replace = [(dsn, self.shown)]
        try:
            password = check(dsn).get("password")
        except ConfigError:
            password = None
        if password:
            self._replace.append((password, MASK))

    def __call__(self, text: object) -> str:
        text = str(text)
        for secret, shown in self._replace:
            text = text.replace(secret, shown)
        return " ".join(text.split())  # driver messages span lines: one log line each

    def error(self, exc: BaseException) -> str:
        return self(f"{type(exc).__name__}: {exc}")


def connect(dsn: str, application: str):
    """An autocommit connection with keepalives and the pgvector type registered (the schema
    must exist: schema.ensure)."""
    import psycopg
    from pgvector.psycopg import register_vector

    conn = psycopg.connect(dsn, autocommit=True, application_name=application[:63], **CONNECT_OPTIONS)
    try:
        register_vector(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def connect_raw(dsn: str, application: str):
    """An autocommit connection before the vector type exists (schema.ensure creates it)."""
    import psycopg

    return psycopg.connect(dsn, autocommit=True, application_name=application[:63], **CONNECT_OPTIONS)
