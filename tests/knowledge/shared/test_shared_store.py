"""SharedStore in one process against a real PostgreSQL: publishing and following, the same
retrieval as the local store, failover when the writer's session dies, polling when no
notification comes, pruning, and the password kept out of logs and status."""
from __future__ import annotations

import logging
import time

import pytest
from ragbot.errors import KnowledgeStoreError
from ragbot.knowledge.index import KnowledgeIndex
from ragbot.knowledge.local_store import LocalStore
from ragbot.knowledge.postgres import follower as follower_module
from ragbot.knowledge.postgres import store as store_module
from ragbot.knowledge.postgres import versions
from ragbot.knowledge.postgres.schema import writer_lock_id
from ragbot.knowledge.postgres.store import SharedStore, VersionHolder
from ragbot.knowledge.store import PublishedVersion
from ragbot.settings import Settings

from probes.knowledge import SERVABLE, write_knowledge
from tests.knowledge.index.conftest import CountingEmbeddings, wait_for
from tests.knowledge.shared.conftest import sql

QUESTIONS = ["What colour is the zorblat fruit?", "When does the bakery open?", "Silverrun 840",
             "frozen river skating"]


def settings_for(docs, dsn: str | None, replica: str, **extra) -> Settings:
    env = {"EMBEDDING_MODEL": "all-MiniLM-L6-v2", "DOCS_FILE": str(docs), "DOCS_DEBOUNCE_SECONDS": "0.1",
           "KNOWLEDGE_POLL_SECONDS": "0.3", "KNOWLEDGE_REPLICA": replica, "INDEX_DIR": "off", **extra}
    if dsn:
        env.update(KNOWLEDGE_STORE="postgres", KNOWLEDGE_DSN=dsn)
    return Settings.from_env(SERVABLE, env)


@pytest.fixture
def stores():
    started = []

    def start(store):
        started.append(store)
        return store.start()

    yield start
    for store in reversed(started):
        store.close()


def writer_backend(dsn: str, store: SharedStore) -> int:
    """The PostgreSQL backend pid holding the writer's advisory lock."""
    lock = writer_lock_id(store.skey)
    rows = sql(dsn, "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
                    "((classid::bigint << 32) | objid::bigint) = %s", lock & 0xFFFFFFFFFFFFFFFF)
    assert len(rows) == 1, rows
    return rows[0][0]


def test_the_writer_publishes_readers_follow_and_embed_nothing(tmp_path, pg_dsn, embeddings, stores):
    docs = write_knowledge(tmp_path)
    counting_a, counting_b = CountingEmbeddings(embeddings), CountingEmbeddings(embeddings)
    a = stores(SharedStore(settings_for(docs, pg_dsn, "a"), counting_a))
    b = stores(SharedStore(settings_for(docs, pg_dsn, "b"), counting_b))
    assert (a.describe()["role"], b.describe()["role"]) == ("writer", "reader")
    assert a.holder.current.version == b.holder.current.version
    assert (counting_a.embedded, counting_b.embedded) == (3, 0)
    v1 = b.holder.current.version.id
    (tmp_path / "zorblat.md").write_text("# Zorblat fruit\n\nThe zorblat is a green fruit.\n")
    assert wait_for(lambda: getattr(b.holder.current.version, "id", 0) > v1, timeout=15)
    assert "green" in b.holder.current.search("zorblat colour", 1)[0].doc.page_content
    assert (counting_a.embedded, counting_b.embedded) == (4, 0)
    status = b.describe()
    assert status["version"]["writer"] == "a" and status["latest_published"] == v1 + 1
    assert status["connected"] and status["error"] is None
    report, progress, _ = b.status_parts()  # a reader shows the writer's report of that version
    assert report.changed == ["zorblat.md"] and progress is None
    assert report.finished_at and report.seconds > 0 and report.embedded_chunks == 1


def test_retrieval_is_the_same_as_the_local_store(tmp_path, pg_dsn, embeddings, stores):
    docs = write_knowledge(tmp_path)
    local = stores(LocalStore(settings_for(docs, None, "local"), embeddings))
    stores(SharedStore(settings_for(docs, pg_dsn, "writer"), embeddings))
    reader = stores(SharedStore(settings_for(docs, pg_dsn, "reader"), embeddings))
    for mode in ("hybrid", "dense", "keyword"):
        for question in QUESTIONS:
            ours = reader.holder.current.search(question, 3, mode)
            theirs = local.holder.current.search(question, 3, mode)
            assert [(h.doc.page_content, h.doc.metadata) for h in ours] == \
                   [(h.doc.page_content, h.doc.metadata) for h in theirs]
            assert [round(h.score, 5) for h in ours] == [round(h.score, 5) for h in theirs]
            assert [round(h.keyword, 5) for h in ours] == [round(h.keyword, 5) for h in theirs]


def test_a_writer_whose_session_dies_steps_down_and_writing_goes_on(tmp_path, pg_dsn, embeddings, stores,
                                                                    caplog):
    caplog.set_level(logging.INFO, logger="ragbot")
    docs = write_knowledge(tmp_path)
    a = stores(SharedStore(settings_for(docs, pg_dsn, "a"), embeddings))
    b = stores(SharedStore(settings_for(docs, pg_dsn, "b"), embeddings))
    assert a.is_writer and not b.is_writer
    sql(pg_dsn, "SELECT pg_terminate_backend(%s)", writer_backend(pg_dsn, a))
    assert wait_for(lambda: "this replica (a) is no longer the knowledge writer: its database session "
                            "was lost" in caplog.text, timeout=15)
    # whoever takes the lock next (a retries at once, b at its next poll): never two writers
    assert wait_for(lambda: a.is_writer or b.is_writer, timeout=15)
    assert not (a.is_writer and b.is_writer)
    before = a.holder.current.version.id
    (tmp_path / "rivers.md").write_text("# Rivers of Norland\n\nThe Silverrun is 910 km long.\n")
    for store in (a, b):
        assert wait_for(lambda s=store: s.holder.current.version.id > before and "910" in
                        s.holder.current.search("Silverrun length", 1)[0].doc.page_content, timeout=15)


def test_a_writer_steps_down_as_soon_as_the_database_is_seen_lost(tmp_path, pg_dsn, embeddings, stores,
                                                                  caplog):
    """A restarted database drops every session and the lock with it: the writer must not wait
    for its next poll (60 s here) to stop calling itself the writer, or a replica that took the
    lock meanwhile would be a second one in the status."""
    caplog.set_level(logging.INFO, logger="ragbot")
    docs = write_knowledge(tmp_path)
    a = stores(SharedStore(settings_for(docs, pg_dsn, "a", KNOWLEDGE_POLL_SECONDS="60"), embeddings))
    assert a.is_writer
    lost = writer_backend(pg_dsn, a)
    sql(pg_dsn, "SELECT pg_terminate_backend(%s)", lost)
    a.health.lost("the follower saw the database go")  # what the follower reports when it does
    assert wait_for(lambda: "this replica (a) is no longer the knowledge writer" in caplog.text, timeout=10)
    # alone, it takes the (free) lock again at once, on a new session
    assert wait_for(lambda: a.is_writer, timeout=10) and writer_backend(pg_dsn, a) != lost


def test_a_reader_that_gets_no_notification_still_follows_by_polling(tmp_path, pg_dsn, embeddings,
                                                                     stores, monkeypatch):
    docs = write_knowledge(tmp_path)
    a = stores(SharedStore(settings_for(docs, pg_dsn, "a"), embeddings))
    monkeypatch.setattr(follower_module, "CHANNEL", "nobody_notifies_here")  # e.g. behind a pooler
    b = stores(SharedStore(settings_for(docs, pg_dsn, "b"), embeddings))
    v1 = b.holder.current.version.id
    (tmp_path / "quantum_bakery.txt").write_text("The Quantum Bakery opens at six.\n")
    assert wait_for(lambda: getattr(b.holder.current.version, "id", 0) > v1, timeout=15)
    assert a.holder.current.version == b.holder.current.version


def test_old_versions_are_pruned_with_the_contents_only_they_listed(tmp_path, pg_dsn, embeddings, stores,
                                                                    monkeypatch):
    monkeypatch.setattr(versions, "KEEP_VERSIONS", 2)
    docs = write_knowledge(tmp_path)
    a = stores(SharedStore(settings_for(docs, pg_dsn, "a"), embeddings))
    for n in range(3):
        before = a.holder.current.version.id
        (tmp_path / "zorblat.md").write_text(f"# Zorblat fruit\n\nEdition {n} of the zorblat page.\n")
        assert wait_for(lambda: a.holder.current.version.id > before, timeout=15)
    assert sql(pg_dsn, "SELECT count(*) FROM ragbot_versions")[0][0] == 2
    # the two other documents, and the zorblat page of the two kept versions
    assert sql(pg_dsn, "SELECT count(*) FROM ragbot_contents")[0][0] == 4


def test_an_older_version_never_replaces_a_newer_one():
    holder = VersionHolder(KnowledgeIndex.empty())
    newer = KnowledgeIndex.empty().__class__((), KnowledgeIndex.empty().vectors, None, 0, 0.0,
                                             version=PublishedVersion(5, "a", 0.0, 0, 0))
    older = KnowledgeIndex((), newer.vectors, None, 0, 0.0, version=PublishedVersion(4, "b", 0.0, 0, 0))
    holder.swap(newer)
    holder.swap(older)
    assert holder.current is newer


def test_the_password_stays_out_of_logs_status_and_errors(tmp_path, postgres, embeddings, stores, caplog,
                                                          monkeypatch):
    caplog.set_level(logging.DEBUG, logger="ragbot")
    docs = write_knowledge(tmp_path)
    postgres.create_database("secret_kb")
    dsn = postgres.dsn("secret_kb").replace("postgres:@", "postgres:s3cr3t-pw@")  # trust auth ignores it
    store = stores(SharedStore(settings_for(docs, dsn, "a"), embeddings))
    assert "postgres:***@" in store.describe()["database"]
    monkeypatch.setattr(store_module, "CONNECT_SECONDS", 0.5)
    gone = dsn.replace(str(postgres.folder), str(tmp_path / "no-server-here"))
    with pytest.raises(KnowledgeStoreError) as err:
        SharedStore(settings_for(docs, gone, "b"), embeddings).start()
    assert "unreachable" in str(err.value) and "postgres:***@" in str(err.value)
    assert "s3cr3t" not in str(err.value) + caplog.text + repr(store.describe())


def test_first_start_on_an_empty_database_waits_for_the_writer(tmp_path, pg_dsn, embeddings, stores):
    """Two replicas starting at once on a fresh database: one builds, the other reads it."""
    import threading

    docs = write_knowledge(tmp_path)
    counting = [CountingEmbeddings(embeddings) for _ in range(2)]
    made = [SharedStore(settings_for(docs, pg_dsn, f"s{i}"), counting[i]) for i in range(2)]
    threads = [threading.Thread(target=stores, args=(s,)) for s in made]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert time.monotonic() - started < 60
    assert {s.holder.current.version.id for s in made} == {1}
    assert sorted(c.embedded for c in counting) == [0, 3]
    assert sum(s.is_writer for s in made) == 1


class FailingEmbeddings(CountingEmbeddings):
    def embed_documents(self, texts):
        raise RuntimeError("the embedding model failed on purpose")


def test_a_first_build_that_fails_fails_the_start_with_its_reason(tmp_path, pg_dsn, embeddings):
    docs = write_knowledge(tmp_path)
    store = SharedStore(settings_for(docs, pg_dsn, "a"), FailingEmbeddings(embeddings))
    try:
        with pytest.raises(KnowledgeStoreError, match="first knowledge version failed: RuntimeError: "
                                                      "the embedding model failed on purpose"):
            store.start()
    finally:
        store.close()
    assert sql(pg_dsn, "SELECT count(*) FROM ragbot_versions")[0][0] == 0
