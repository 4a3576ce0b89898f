"""What the server writes to its logs never carries a secret or an event.

HTTP ingestion puts the ingest token in the path (``/event/{domain}/token!{token}/...``) and the
event itself in the query string, and any URL may carry a token in its query; uvicorn's access
log writes the whole request target. ``RedactTargets`` rewrites it on every access-log record:
the token becomes ``token!***`` and a query string ``?***``.
"""

from __future__ import annotations

import logging
import re

# uvicorn writes the target percent-encoded as the client sent it: `!` may arrive as %21.
_TOKEN = re.compile(r"/token(?:!|%21)[^/?]*", re.IGNORECASE)
REDACTED = "***"


def redact_target(target: str) -> str:
    """``/event/d/token!abc/h/t?msg`` → ``/event/d/token!***/h/t?***``."""
    path, mark, _query = target.partition("?")
    path = _TOKEN.sub(f"/token!{REDACTED}", path)
    return f"{path}?{REDACTED}" if mark else path


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
