"""``linqd serve``: open the data directory, make sure the default domain has credentials, and
serve every HTTP API on one port until SIGINT/SIGTERM.

While it runs, ``<data-dir>/server.json`` names its URL and process id so that the CLI talks to
it instead of opening the (single-writer) data directory itself.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import socket
import sys
import threading
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

import uvicorn

from .alerts.delivery import Dispatcher
from .alerts.engine import AlertEngine
from .alerts.service import AlertServices
from .api.app import create_app
from .audit.service import Audit
from .clock import Clock, SystemClock
from .cluster.service import ClusterService, alert_resource, job_resource, join_cluster
from .config import Settings
from .datadir import META_FILE, DataDir, ensure_private_dir, open_data_dir
from .domains import Credentials, DomainStore, secure_permissions
from .geoip import CACHE_DIR as GEOIP_CACHE
from .geoip import geoip_references, warm_cache
from .ingest.collector import CollectorConfig, SyslogCollector
from .ingest.pipeline import IngestPipeline
from .jobs.model import Job
from .jobs.repo import JobRepository
from .jobs.runner import JobRunner, SinkFactory
from .logs import redact_access_log
from .lookups.service import LookupService
from .meta import MetaStore, is_shared_meta
from .sinks import SinkContext, create_sink, destination_rules
from .sinks.base import DestinationRules, Sink
from .sinks.email import SmtpSettings
from .ui.users import ADMIN_USER, ConsoleUsers

SERVER_FILE = "server.json"
CREDENTIALS_FILE = "credentials.json"
# CPython's full collection stops every thread for as long as the heap is big. A large LINQ
# compile (tens of thousands of terms: a million objects) triggered a dozen of them with the
# default thresholds (700, 10, 10), up to 0.5 s each, stalling every request while it ran off
# the event loop. Young collections stay small (5,000 objects, ~1 ms); a full one waits for
# 1,000 middle ones (some 50 M allocations), which still bounds the garbage kept old.
GC_THRESHOLDS = (5_000, 10, 1_000)
# A worker thread compiling a large query holds the GIL for up to the switch interval each time
# the event loop asks for it, and a request needs it several times: 1 ms instead of Python's
# 5 ms roughly halves /health's slow probes during a 20,000-term compile (the slowest few
# went from 26-51 ms to 14-24 ms here; a single outlier of 42 ms remained).
SWITCH_INTERVAL_S = 0.001


@dataclass(frozen=True)
class ServerInfo:
    url: str
    pid: int
    syslog: dict[str, int] | None = None


def write_private_json(path: Path, payload: object) -> None:
    """Write a file only the server's user can read (it may hold secrets)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(payload, handle, indent=2)
        handle.write("\n")
    os.chmod(path, 0o600)


def write_credentials(data_dir: Path, credentials: Credentials) -> None:
    write_private_json(
        data_dir / CREDENTIALS_FILE,
        {
            "domain": credentials.domain,
            "apiKey": credentials.api_key,
            "apiSecret": credentials.api_secret,
            "token": credentials.token,
            "standAloneToken": credentials.stand_alone_token,
            "ingestToken": credentials.ingest_token,
        },
    )


def read_credentials(data_dir: Path) -> dict[str, str] | None:
    path = data_dir / CREDENTIALS_FILE
    if not path.exists():
        return None
    loaded: dict[str, str] = json.loads(path.read_text())
    return loaded


def ensure_console_admin(data_dir: Path, meta: MetaStore, clock: Clock, domain: str) -> None:
    """On first start, the console's user ``admin`` of ``domain``, its password written to
    credentials.json (``consolePassword``)."""
    password = ConsoleUsers(meta, clock).ensure_admin(domain)
    if password is not None:
        written = read_credentials(data_dir) or {}
        written.update({"consoleUser": ADMIN_USER, "consolePassword": password})
        write_private_json(data_dir / CREDENTIALS_FILE, written)


def ensure_credentials(data_dir: Path) -> dict[str, str]:
    """The default domain's credentials and console admin, created (with credentials.json) if
    new."""
    existing = read_credentials(data_dir)
    if existing is not None and "consolePassword" in existing:
        return existing
    ensure_private_dir(data_dir)
    meta = MetaStore(data_dir / META_FILE)
    try:
        clock = SystemClock()
        fresh = DomainStore(meta, clock).ensure_domain("self")
        if fresh is not None:
            write_credentials(data_dir, fresh)
        ensure_console_admin(data_dir, meta, clock, "self")
    finally:
        meta.close()
    secure_permissions(data_dir)
    return read_credentials(data_dir) or {}


def running_server(data_dir: Path) -> ServerInfo | None:
    """The server that owns ``data_dir``, if one is alive and answers /health."""
    path = data_dir / SERVER_FILE
    if not path.exists():
        return None
    try:
        info = ServerInfo(**json.loads(path.read_text()))
        os.kill(info.pid, 0)
    except (OSError, ValueError, TypeError):
        return None
    if info.url.startswith("https"):
        return info  # the CLI verifies TLS itself; a probe without the CA would fail here
    try:
        with urllib.request.urlopen(f"{info.url}/health", timeout=2) as response:
            ok = response.status == 200
    except OSError:
        return None
    return info if ok else None


def serve(settings: Settings) -> None:
    clock = SystemClock()
    data = open_data_dir(
        settings.data_dir,
        clock,
        memory_limit=settings.memory_limit,
        store=settings.store,
        cluster=settings.clickhouse_cluster,
        references=geoip_references(settings.geoip_dir, settings.data_dir / GEOIP_CACHE),
        meta=settings.meta,
        writer_id=settings.node_id if shares_events(settings) else None,
        meta_hold_ms=settings.lease_term_ms,
    )
    secure_permissions(settings.data_dir)
    if settings.geoip_dir is not None:
        threading.Thread(
            target=warm_cache,
            args=(settings.geoip_dir, settings.data_dir / GEOIP_CACHE),
            name="geoip-cache",
            daemon=True,
        ).start()
    domains = DomainStore(data.meta, clock)
    fresh = domains.ensure_domain(settings.default_domain)
    if fresh is not None:
        write_credentials(settings.data_dir, fresh)
    ensure_console_admin(settings.data_dir, data.meta, clock, settings.default_domain)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it, a response written in two pieces waits
    # for the client's delayed ACK (40 ms per request on a kept-alive connection).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((settings.host, settings.port))
    sock.listen(2048)
    port = sock.getsockname()[1]
    url = f"{settings.scheme}://{settings.host}:{port}"
    data.store.start_retention(settings.retention_interval_s)
    audit = (
        Audit.start(data.store, clock, default_domain=settings.default_domain)
        if settings.audit
        else None
    )
    pipeline = IngestPipeline(
        data.store,
        clock,
        flush_interval_s=settings.flush_interval_s,
        counts=audit.counts if audit else None,
    )
    collector = _collector(settings, pipeline, domains, clock, audit)
    ports = dict(collector.ports) if collector else {}
    info = ServerInfo(url, os.getpid(), ports)
    write_private_json(settings.data_dir / SERVER_FILE, asdict(info))
    smtp = _smtp(settings)
    rules = destination_rules(settings)
    sinks = sink_factory(smtp, clock, rules)
    jobs = JobRepository(data.meta)
    alerts = AlertServices.over(data.meta, clock)
    cluster = _join_cluster(settings, data, clock, url, jobs, alerts)
    runner = JobRunner(data.store, jobs, clock, sinks, ownership=cluster)
    # Before resuming: lookup jobs are of a kind the lookup service registers on the runner.
    lookups = LookupService(data.store, data.meta, runner, clock)
    runner.resume_all()
    runner.start_clock()
    dispatcher = Dispatcher(
        data.meta,
        clock,
        alerts.triggered,
        smtp,
        base_url=url,
        outbound=rules.outbound,
        claim_ms=settings.delivery_claim_ms,
    )
    dispatcher.start()
    alerts.engine = AlertEngine(
        data.store,
        alerts.definitions,
        alerts.triggered,
        clock,
        dispatcher=dispatcher,
        lateness_ms=settings.alert_lateness_ms,
        ownership=cluster,
    ).start()
    if cluster is not None:
        cluster.subscribe(runner.reconcile)
        cluster.subscribe(alerts.engine.reconcile)
        cluster.start()
    app = create_app(
        settings,
        data.store,
        domains,
        clock,
        pipeline,
        runner,
        alerts,
        smtp,
        lookups=lookups,
        audit=audit,
    )
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    config = uvicorn.Config(
        app,
        log_level="info",
        lifespan="off",
        ssl_certfile=str(settings.tls_cert) if settings.tls_cert else None,
        ssl_keyfile=str(settings.tls_key) if settings.tls_key else None,
        timeout_graceful_shutdown=5,
        server_header=False,
    )
    redact_access_log()  # after uvicorn.Config, which configures its loggers
    syslog = " ".join(f"syslog-{kind}={port}" for kind, port in ports.items())
    print(f"linqd serving {url} {syslog} (data in {settings.data_dir})", flush=True)
    # uvicorn re-raises SIGTERM once it has shut down; as an exception it lets us clean up.
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        with contextlib.suppress(SystemExit):  # SIGTERM is the normal way to stop
            uvicorn.Server(config).run(sockets=[sock])
    finally:
        # Stop taking events, commit what was accepted, then close the stores.
        if collector is not None:
            collector.stop()
        pipeline.close()
        if audit is not None:
            audit.close()  # the last requests' rows and the open minute's counters
        if cluster is not None:
            cluster.stop()  # no more share changes while the engine and runner stop
        runner.close()  # running jobs stay RUNNING and resume at the next start
        alerts.engine.close()  # its progress is saved with every pass
        dispatcher.close()  # pending deliveries stay queued in the metadata store
        if cluster is not None:
            cluster.leave()  # hand the share over now rather than after a lease term
        with contextlib.suppress(FileNotFoundError):
            (settings.data_dir / SERVER_FILE).unlink()
        data.close()
        signal.signal(signal.SIGTERM, previous)


def shares_events(settings: Settings) -> bool:
    """Whether this node is one of several writers into one ClickHouse: metadata on
    PostgreSQL and a ClickHouse server (chdb and DuckDB live in one process)."""
    return is_shared_meta(settings.meta) and settings.store.partition("://")[1] == "://"


def _join_cluster(
    settings: Settings,
    data: DataDir,
    clock: Clock,
    url: str,
    jobs: JobRepository,
    alerts: AlertServices,
) -> ClusterService | None:
    """With metadata on PostgreSQL, this node takes its share of definitions and jobs."""
    if not is_shared_meta(settings.meta):
        return None
    assert settings.node_id is not None

    def resources() -> list[str]:
        names = [alert_resource(d.id) for d in alerts.definitions.active()]
        return names + [job_resource(job.id) for job in jobs.running()]

    reap = data.store.recover_ranges if shares_events(settings) else None
    return join_cluster(
        data.meta,
        settings.node_id,
        url,
        settings.lease_term_ms,
        clock,
        resources,
        reap=reap,
    )


def _collector(
    settings: Settings,
    pipeline: IngestPipeline,
    domains: DomainStore,
    clock: SystemClock,
    audit: Audit | None,
) -> SyslogCollector | None:
    tls_port = settings.syslog_tls_port if settings.tls_cert else None
    if settings.syslog_port is None and tls_port is None:
        return None
    config = CollectorConfig(
        host=settings.host,
        port=settings.syslog_port,
        tls_port=tls_port,
        tls_cert=settings.tls_cert,
        tls_key=settings.tls_key,
        tls_client_ca=settings.tls_client_ca,
        default_domain=settings.default_domain,
    )

    def domain_of_cn(common_name: str) -> str | None:
        known = {d.name for d in domains.list_domains()}
        return common_name if common_name in known else None

    connections = audit.connections if audit else None
    return SyslogCollector(config, pipeline, clock, domain_of_cn, connections).start()


def _smtp(settings: Settings) -> SmtpSettings:
    return SmtpSettings(
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_user,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
        sender=settings.smtp_from,
    )


def sink_factory(smtp: SmtpSettings, clock: Clock, rules: DestinationRules) -> SinkFactory:
    context = SinkContext(clock=clock, smtp=smtp, rules=rules)

    def factory(job: Job) -> Sink:
        return create_sink(job.type, job.params, job_id=job.id, context=context)

    return factory


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)
