"""What the server writes to its logs never carries a secret or an event.

HTTP ingestion puts the ingest token in the path (``/event/{domain}/token!{token}/...``) and the
event itself in the query string, and any URL may carry a token in its query; uvicorn's access
log writes the whole request target. ``RedactTargets`` rewrites it on every access-log record:
the token becomes ``token!***`` and a query string ``?***``.

The audit tables keep more of a URL (``redact_url``, ``redact_link``): the query stays, but not
the values of parameters whose names say they hold a credential, nor the event text that
``/event`` carries in its query.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus, urlsplit

# uvicorn writes the target percent-encoded as the client sent it: `!` may arrive as %21.
_TOKEN = re.compile(r"/token(?:!|%21)[^/?]*", re.IGNORECASE)
REDACTED = "***"
# Query parameters whose names say they carry a credential (standAloneToken, apikey, sign,
# password, jwt...), anywhere in the name and in any case: wrongly hiding a value costs less
# than showing a secret.
_SECRET_NAME = re.compile(
    r"token|key|sign|secret|pass|pwd|jwt|auth|session|cookie|csrf|credential", re.IGNORECASE
)
_INGESTION = re.compile(r"/(?:event|stream)/")


def redact_target(target: str) -> str:
    """``/event/d/token!abc/h/t?msg`` → ``/event/d/token!***/h/t?***``."""
    path, mark, _query = target.partition("?")
    path = _TOKEN.sub(f"/token!{REDACTED}", path)
    return f"{path}?{REDACTED}" if mark else path


def redact_url(path: str, query: str = "") -> str:
    """A request's path and query without credentials or events: the ingestion token in the
    path, the whole query of an ingestion URL (it is the event), the value of every parameter
    whose name looks like a credential, and a parameter without a name (``?abc``)."""
    path = _TOKEN.sub(f"/token!{REDACTED}", path)
    if not query:
        return path
    if _INGESTION.match(path):
        return f"{path}?{REDACTED}"
    parts = []
    for part in query.split("&"):
        name, equals, _value = part.partition("=")
        if not equals:
            parts.append(REDACTED if part else part)
        elif _SECRET_NAME.search(unquote_plus(name)):
            parts.append(f"{name}={REDACTED}")
        else:
            parts.append(part)
    return f"{path}?{'&'.join(parts)}"


def redact_link(url: str) -> str:
    """An absolute URL (a Referer) as ``redact_url`` shows paths, without user and password."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return REDACTED
    origin = f"{parts.scheme}://{host}{port}" if parts.scheme else ""
    return origin + redact_url(parts.path, parts.query)


class RedactTargets(logging.Filter):
    """For uvicorn's access logger, whose records carry (client, method, target, version,
    status) as arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_target(args[2]), *args[3:])
        return True


def redact_access_log(logger_name: str = "uvicorn.access") -> None:
    """Install the filter on the access logger (idempotent)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactTargets) for f in logger.filters):
        logger.addFilter(RedactTargets())
