"""Metadata: domains, credentials, jobs, alert definitions and their state, outboxes."""

from linqd.meta.store import MetaStore, insert, upsert

__all__ = ["MetaStore", "insert", "upsert"]
