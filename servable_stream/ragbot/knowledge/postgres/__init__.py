"""KNOWLEDGE_STORE=postgres: one knowledge base for every replica, on PostgreSQL + pgvector.

    dsn.py       the connection string: redacted for logs and status, secrets scrubbed from messages
    schema.py    the tables (contents, chunks, versions, documents), created once, and the keys
    contents.py  a document's chunks by content hash: embedded once, found again by sha256
    versions.py  publish a version in one transaction (+ NOTIFY); read one into a KnowledgeIndex
    records.py   the writer's RecordStore (ingest.Indexer reads and writes through it)
    election.py  one writer: the replica that holds the advisory lock; the others retry
    follower.py  every replica follows the published version (LISTEN/NOTIFY, polling as fallback)
    health.py    reachable or not: one log line when lost, one when back; the status fields
    store.py     SharedStore, the service's KnowledgeStore: all of the above put together

Only this package imports psycopg (lazily: KNOWLEDGE_STORE=local never loads it).
"""
