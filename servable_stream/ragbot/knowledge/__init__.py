"""The knowledge base: docs.txt entries fetched safely, parsed, split, embedded, indexed, persisted and watched."""
