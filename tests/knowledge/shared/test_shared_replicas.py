"""Three real hosts (`python -m ovms_host`, tiny-random + MiniLM) on one PostgreSQL database and
one docs.txt, KNOWLEDGE_STORE=postgres: one writer, every replica following its versions.

The tests run in order on the same replicas (each builds on the state the previous one left):
a change reaches all three and no answer mixes two versions; the writer killed mid-rebuild;
PostgreSQL stopped and started again; a fourth replica joining later. Embeddings are counted
per replica (`ragbot_index_embedded_chunks_total`) and in the database: each content is
embedded once across the replicas. The tests check mechanics and retrieval, never what the
random model writes.
"""
from __future__ import annotations

import json
import os
import threading
import time

import pytest

from client.knowledge import panel_markdown
from probes.knowledge import SERVABLE, rag_env, write_knowledge
from probes.kserve import ask
from tests.e2e.test_spine import raw_input
from tests.knowledge.index.conftest import serving_docs, wait_for
from tests.knowledge.shared.conftest import metric, sql, status

EMBEDDED = "ragbot_index_embedded_chunks_total"
V1 = {"zorblat.md", "quantum_bakery.txt", "rivers.md"}
V2_FILES = {"zorblat-v2.md": "# Zorblat fruit\n\nThe zorblat is a green fruit grown on the island "
                             "of Kelvara since the drought.\n",
            "rivers-v2.md": "# Rivers of Norland\n\nThe Silverrun river flows north through "
                            "Norland for 910 kilometres.\n"}
V2 = {"zorblat-v2.md", "quantum_bakery.txt", "rivers-v2.md"}
QUESTION = json.dumps({"question": "Which fruit and river are there?", "max_new_tokens": 4})
# every passage reaches the prompt: an answer's sources show every document of its version
ENV = {"LLM_BACKEND": "genai", "KNOWLEDGE_STORE": "postgres", "KNOWLEDGE_POLL_SECONDS": "1", "DOCS_DEBOUNCE_SECONDS": "0.3",
       "DOCS_ALLOW_PRIVATE_URLS": "true", "TOP_K": "4", "MAX_DOCUMENTS": "0", "MIN_SCORE": "-1"}


class Replicas:
    def __init__(self, folder, docs, dsn, postgres):
        self.folder, self.docs, self.dsn, self.postgres = folder, docs, dsn, postgres
        self.hosts: dict[str, object] = {}

    def start(self, name: str):
        from probes.host import start_host

        env = rag_env(self.docs, KNOWLEDGE_DSN=self.dsn, KNOWLEDGE_REPLICA=name, **ENV)
        self.hosts[name] = start_host(SERVABLE / "config.json", env=env)
        return self.hosts[name]

    def live(self) -> dict:
        return {n: h for n, h in self.hosts.items() if h.proc.poll() is None}

    def writer(self) -> str | None:
        roles = {n: status(h)["store"]["role"] for n, h in self.live().items()}
        writers = [n for n, role in roles.items() if role == "writer"]
        assert len(writers) <= 1, roles
        return writers[0] if writers else None

    def versions(self) -> dict[str, int | None]:
        return {n: (status(h)["store"]["version"] or {}).get("id") for n, h in self.live().items()}

    def all_at(self, version: int) -> bool:
        return all(v is not None and v >= version for v in self.versions().values())

    def embedded(self) -> dict[str, float]:
        return {n: metric(h, EMBEDDED) for n, h in self.live().items()}

    def stop(self):
        for host in self.hosts.values():
            host.stop()


@pytest.fixture(scope="module")
def replicas(tmp_path_factory, postgres):
    folder = tmp_path_factory.mktemp("shared-kb")
    docs = write_knowledge(folder)
    dsn = postgres.create_database("replicas")
    group = Replicas(folder, docs, dsn, postgres)
    try:
        for name in ("r1", "r2", "r3"):  # started together: they race for the lock
            group.start(name)
        for host in group.hosts.values():
            host.wait_ready(timeout=240)
        yield group
    finally:
        group.stop()


def sources(host) -> tuple[int, set[str]]:
    end = ask(host.grpc_url, raw_input(QUESTION), timeout=60).end
    return end["knowledge_base"].get("version"), {s["source"] for s in end["sources"]}


def excerpts(host) -> dict[str, str]:
    end = ask(host.grpc_url, raw_input(QUESTION), timeout=60).end
    return {s["source"]: s["excerpt"] for s in end["sources"]}


def test_three_replicas_one_writer_one_version_each_chunk_embedded_once(replicas):
    assert wait_for(lambda: replicas.writer() is not None, timeout=20)
    assert wait_for(lambda: len(set(replicas.versions().values())) == 1, timeout=20), replicas.versions()
    for name, host in replicas.hosts.items():
        store = status(host)["store"]
        assert store["kind"] == "postgres" and store["replica"] == name and store["connected"]
        assert "postgresql://postgres:***@" in store["database"]
        version, seen = sources(host)
        assert version == store["version"]["id"] and seen == V1
    # 3 documents of one chunk each, embedded by one replica only
    assert sum(replicas.embedded().values()) == 3
    assert sql(replicas.dsn, "SELECT count(*) FROM ragbot_chunks")[0][0] == 3


def test_a_change_reaches_every_replica_and_no_answer_mixes_versions(replicas):
    before = max(replicas.versions().values())
    embedded_before = sum(replicas.embedded().values())
    answers: list[tuple[str, int, set]] = []
    errors: list[str] = []
    stop = threading.Event()

    def keep_asking(name, host):
        while not stop.is_set():
            try:
                version, seen = sources(host)
                answers.append((name, version, seen))
            except Exception as exc:  # noqa: BLE001 - asserted below
                errors.append(f"{name}: {exc!r}")

    askers = [threading.Thread(target=keep_asking, args=item, daemon=True)
              for item in replicas.hosts.items()]
    for t in askers:
        t.start()
    try:
        time.sleep(1.0)  # answers from the old version first
        for name, text in V2_FILES.items():
            (replicas.folder / name).write_text(text, encoding="utf-8")
        new = replicas.folder / "docs.txt.new"
        new.write_text("zorblat-v2.md\nquantum_bakery.txt\nrivers-v2.md\n", encoding="utf-8")
        os.replace(new, replicas.docs)  # one change: two documents replaced at once
        # a bound for a hang, not a speed claim: benchmarks/ measures how fast (seconds)
        assert wait_for(lambda: replicas.all_at(before + 1), timeout=30), replicas.versions()
        last = len(answers)
        assert wait_for(lambda: {n for n, v, _ in answers[last:] if v > before} == set(replicas.hosts),
                        timeout=30)
    finally:
        stop.set()
        for t in askers:
            t.join(60)
    assert errors == []
    for name, version, seen in answers:  # each answer: one version's documents, never a mix
        assert seen == (V1 if version == before else V2), (name, version, seen)
    assert {v for _, v, _ in answers} >= {before, before + 1}
    # only the two new documents were embedded, by one replica
    assert sum(replicas.embedded().values()) == embedded_before + 2
    assert sql(replicas.dsn, "SELECT count(*) FROM ragbot_chunks")[0][0] == 5


def test_the_writer_killed_mid_rebuild_another_finishes_nothing_embedded_twice(replicas):
    before = max(replicas.versions().values())
    writer = replicas.writer()
    survivors = [n for n in replicas.hosts if n != writer]
    with serving_docs() as server:
        server.files["/late.txt"] = (b"The Kelvara ferry leaves at dawn for the zorblat market.\n",
                                     "text/plain")
        server.delay["/late.txt"] = 15  # the writer is still waiting for it when it dies
        (replicas.folder / "quantum_bakery.txt").write_text(
            "Quantum Bakery opening hours\n\nThe Quantum Bakery in Millbrook now opens at six.\n")
        replicas.docs.write_text("zorblat-v2.md\nquantum_bakery.txt\nrivers-v2.md\n"
                                 f"{server.url('/late.txt')}\n", encoding="utf-8")
        # mid-rebuild: the changed bakery page is embedded and stored, /late.txt is being fetched
        assert wait_for(lambda: "/late.txt" in server.requests, timeout=30)
        assert sql(replicas.dsn, "SELECT count(*) FROM ragbot_contents")[0][0] == 6
        assert status(replicas.hosts[writer])["rebuilding"] is not None
        embedded_by_writer = metric(replicas.hosts[writer], EMBEDDED)
        survivors_before = {n: metric(replicas.hosts[n], EMBEDDED) for n in survivors}
        replicas.hosts[writer].proc.kill()  # SIGKILL: no goodbye, the lock goes with the process
        replicas.hosts[writer].proc.wait(10)
        # the old version answers meanwhile (a successor cannot publish before /late.txt answers)
        for name in survivors:
            assert sources(replicas.hosts[name]) == (before, V2)
        server.delay["/late.txt"] = 0  # (a fetch already waiting still waits out its 15 s)
        assert wait_for(lambda: replicas.writer() in survivors, timeout=30)
        assert wait_for(lambda: replicas.all_at(before + 1), timeout=60), replicas.versions()
    for name in survivors:
        version, seen = sources(replicas.hosts[name])
        assert version > before and seen == V2 | {server.url("/late.txt")}
    after = {n: metric(replicas.hosts[n], EMBEDDED) for n in survivors}
    # the successor embedded /late.txt only: the bakery page the dead writer had stored is reused
    assert sum(after.values()) - sum(survivors_before.values()) == 1
    assert embedded_by_writer >= 1
    rows = sql(replicas.dsn, "SELECT count(*), count(DISTINCT sha256) FROM ragbot_chunks")[0]
    assert rows == (7, 7)
    successor = replicas.writer()
    assert "index rebuilt: 4 documents" in replicas.hosts[successor].log_text()
    assert "1 documents' chunks reused" in replicas.hosts[successor].log_text()


def test_postgres_restart_replicas_keep_answering_and_catch_up(replicas):
    live = replicas.live()
    before = max(replicas.versions().values())
    replicas.postgres.stop()
    try:
        for name, host in live.items():
            assert wait_for(lambda h=host: not status(h)["store"]["connected"], timeout=20)
            version, _ = sources(host)
            assert version == before  # answering from the version it holds
            assert status(host)["store"]["error"]
    finally:
        replicas.postgres.start()
    for host in live.values():
        assert wait_for(lambda h=host: status(h)["store"]["connected"], timeout=30)
    assert wait_for(lambda: replicas.writer() is not None, timeout=30)
    (replicas.folder / "rivers-v2.md").write_text(
        "# Rivers of Norland\n\nThe Silverrun river flows north for 910 kilometres; it thaws in April.\n")
    # the new writer's catch-up and the edit may come as one version or two: wait for the edit
    for host in live.values():
        assert wait_for(lambda h=host: "thaws in April" in excerpts(h).get("rivers-v2.md", ""),
                        timeout=30), replicas.versions()
    assert max(replicas.versions().values()) > before
    for host in live.values():
        log = host.log_text()
        assert "unreachable" in log and "reachable again" in log


def test_a_fourth_replica_is_ready_without_embedding_anything(replicas):
    host = replicas.start("r4")
    host.wait_ready(timeout=240)
    assert wait_for(lambda: len(set(replicas.versions().values())) == 1, timeout=30), replicas.versions()
    newest = max(replicas.versions().values())
    store = status(host)["store"]
    assert store["role"] == "reader" and store["version"]["id"] == newest
    assert metric(host, EMBEDDED) == 0
    assert sources(host)[0] == newest
    assert "loaded: 4 documents" in host.log_text()
    # the page's Knowledge base panel says where the answers come from
    panel = panel_markdown(host.rest_url + "/v2/models/python_model/status")
    writer = store["version"]["writer"]
    assert f"version **{newest}**, published by {writer}" in panel and "this replica: r4 (reader)" in panel
