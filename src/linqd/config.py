"""Server settings: one frozen value built by the CLI and passed to everything that needs it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    tls_cert: Path | None = None
    tls_key: Path | None = None
    default_domain: str = "self"
    # HMAC timestamps further than this from the server's clock are refused (replay window).
    auth_window_ms: int = 300_000
    # JWTs must carry `exp`, at most this far ahead.
    jwt_max_ttl_s: int = 86_400
    # A query still running after this long is cancelled with an in-band error.
    query_timeout_s: float = 300.0
    # Idle streams send a keep-alive token this often (devo-sdk's read timeout is 300 s).
    keepalive_interval_s: float = 15.0
    max_body_bytes: int = 1_048_576
    retention_interval_s: float = 3600.0
    # Syslog collector: plain TCP and TLS ports (None: off; 0: any free port, for tests).
    syslog_port: int | None = 13000
    syslog_tls_port: int | None = None
    tls_client_ca: Path | None = None
    # Syslog batches are committed at least this often.
    flush_interval_s: float = 0.1
    # Outgoing mail for `email` job destinations (the password comes from $LINQD_SMTP_PASSWORD).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_starttls: bool = False
    smtp_from: str = "linqd@localhost"
    # DuckDB's memory budget; sorts and hash tables beyond it spill to <data-dir>/spill.
    memory_limit: str = "2GB"
    # The event store (store/open.py) and, for a ClickHouse server, its cluster.
    store: str = "duckdb"
    clickhouse_cluster: str | None = None
    # The metadata store (meta/): None is the data directory's meta.sqlite; a postgresql://
    # URL is shared by several nodes, each with its own id (default: host name and port) and
    # leases of this term on the definitions and jobs it runs (cluster/).
    meta: str | None = None
    node_id: str | None = None
    lease_term_ms: int = 10_000
    # How long a delivery worker holds a delivery it attempts: longer than any attempt can
    # take, since another node may take the delivery after it (alerts/delivery/outbox.py).
    delivery_claim_ms: int = 300_000
    # MaxMind DB files for the geolocation functions (geoip.py); None: the packaged data.
    geoip_dir: Path | None = None
    # An alert period is closed this long after its end (events may be committed late).
    alert_lateness_ms: int = 2_000
    # Connections that requests ask for (webhooks, job destinations): the operator's rules
    # (CIDR, address or host name) over outbound/policy.py's defaults.
    outbound_allow: tuple[str, ...] = ()
    outbound_deny: tuple[str, ...] = ()
    # The folder whose files Kafka destinations may name (ssl.ca.location...); None: none.
    destination_files_dir: Path | None = None
    # Fair share (query/admission.py): queries one domain may run at once, continuous or not,
    # and how many of them may be continuous; past either, HTTP 429.
    max_queries_per_domain: int = 32
    max_continuous_queries_per_domain: int = 16
    # msgpack and xls answers are built whole: refused past this many rows or Arrow bytes.
    max_document_rows: int = 200_000
    max_document_bytes: int = 268_435_456
    # What one streamed answer may hold queued for a slow client.
    output_buffer_bytes: int = 4_194_304
    # linqd's own activity in siem.logtrust.web.activity, .web.connection and
    # .collector.counter (audit/); `serve --no-audit` turns it off.
    audit: bool = True

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"
