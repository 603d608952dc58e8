"""A real PostgreSQL 16 with pgvector for tests, benchmarks and the eval: the `pgserver` wheel's
own binaries, a private data folder, a Unix socket only (nothing listens on TCP).

    pg = Postgres(folder)                  # initdb on first use, then start (~2-3 s)
    pg = Postgres()                        # a temporary folder, deleted by close()
    dsn = pg.create_database("kb")         # postgresql://postgres:@/kb?host=<folder>
    pg.stop(); pg.start()                  # a database restart, as an outage
    pg.close()

As root, pgserver runs the server as a system user `pgserver` (created with useradd when
missing) and opens read/traverse permissions on the folder's parents: so the folder must not
sit under a private one that something else locks down again (pytest's 0700 temp root does
that), hence a `tempfile.mkdtemp` folder by default.
"""
from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class Postgres:
    def __init__(self, folder: Path | None = None):
        import pgserver

        temporary = folder is None
        self.folder = Path(tempfile.mkdtemp(prefix="ragbot-pg-")) / "data" if temporary else Path(folder)
        self.server = pgserver.get_server(self.folder, cleanup_mode="delete" if temporary else "stop")
        self.server.psql("CREATE EXTENSION IF NOT EXISTS vector;")

    def dsn(self, database: str = "postgres") -> str:
        return self.server.get_uri(database)

    def create_database(self, name: str) -> str:
        """A fresh, empty database (dropped first if it exists); its DSN."""
        if not _NAME.match(name):
            raise ValueError(f"not a plain database name: {name!r}")
        self.server.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE);")
        self.server.psql(f"CREATE DATABASE {name};")
        return self.dsn(name)

    def stop(self) -> None:
        """Stop the server (fast shutdown: every connection is cut, as in a database restart)."""
        from pgserver._commands import pg_ctl

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user,
               timeout=60)

    def start(self) -> None:
        """Start it again on the same folder and socket."""
        with self.server._lock:
            self.server.ensure_postgres_running()

    def close(self) -> None:
        temporary = self.server.cleanup_mode == "delete"
        self.server.cleanup()
        if temporary:
            shutil.rmtree(self.folder.parent, ignore_errors=True)
