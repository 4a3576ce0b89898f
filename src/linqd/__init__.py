"""linqd: a self-hosted, Devo-compatible log search and alerting server."""

__version__ = "0.1.0"
