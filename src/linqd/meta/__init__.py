"""Metadata: domains, credentials, jobs, alert definitions and their state, outboxes."""

from linqd.meta.store import MetaStore, insert, insert_new, is_shared_meta, upsert

__all__ = ["MetaStore", "insert", "insert_new", "is_shared_meta", "upsert"]
