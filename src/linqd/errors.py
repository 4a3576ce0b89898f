"""The one exception tree of linqd.

Every error raised on purpose is a ``LinqdError``. Each class carries a stable ``code`` string that
the API layer (``api/errors.py``) maps to Devo's response shapes in one place; nothing else decides
how an error looks on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self


class LinqdError(Exception):
    """Base of every error linqd raises on purpose."""

    code = "linqd.error"
    # Devo's numeric code for this error, when Devo documents one (the API puts it on the wire).
    devo_code: int | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Span:
    """A region of LINQ source: 0-based character offsets, 1-based line and column of the start."""

    start: int
    end: int
    line: int
    column: int


class LinqError(LinqdError):
    """A LINQ text that cannot be parsed, resolved or compiled.

    ``span`` points at the offending source so the error can be rendered with a caret, the way
    Devo reports ``at line L, column C``.
    """

    code = "linq.error"

    def __init__(self, message: str, span: Span | None = None, source: str | None = None) -> None:
        super().__init__(message)
        self.span = span
        self.source = source

    def with_source(self, source: str) -> LinqError:
        if self.source is None:
            self.source = source
        return self

    @property
    def position(self) -> str:
        if self.span is None:
            return ""
        return f"at line {self.span.line}, column {self.span.column}"

    def render(self) -> str:
        """The message, its position, and the source line with a caret under the error."""
        head = self.message
        if self.span is None or self.source is None:
            return head
        lines = self.source.split("\n")
        index = min(self.span.line - 1, len(lines) - 1)
        text = lines[index] if lines else ""
        width = max(1, min(self.span.end - self.span.start, len(text) - self.span.column + 1))
        caret = " " * (self.span.column - 1) + "^" * width
        where = f" ({self.position})" if self.position not in head else ""
        return f"{head}{where}\n  {text}\n  {caret}"


class LinqSyntaxError(LinqError):
    code = "linq.syntax"
    devo_code = 1101000


class LinqNameError(LinqError):
    """Unknown table, unknown identifier, unknown function, duplicate alias."""

    code = "linq.name"
    devo_code = 1101001


class UnknownTableError(LinqNameError):
    code = "linq.unknown_table"
    devo_code = 2086000


class UnknownFunctionError(LinqNameError):
    code = "linq.unknown_function"
    devo_code = 1101002


class UnavailableFunctionError(LinqNameError):
    """A function of Devo's catalogue that needs what this server does not have (a proprietary
    feed, captured packets): known, and refused with the reason."""

    code = "linq.unavailable_function"
    devo_code = 1101002


class DuplicateIdentifierError(LinqNameError):
    code = "linq.duplicate_identifier"
    devo_code = 1101003


class LinqTypeError(LinqError):
    code = "linq.type"
    devo_code = 1101004


class LinqLimitError(LinqError):
    """A LINQ text over its compilation budget: too long, too many tokens, nested too deeply,
    expanding to too much SQL, or too slow to compile (``linq/limits.py``).

    Devo documents no code for this; it answers with its syntax error's code, which clients
    already treat as "fix the query text"."""

    code = "linq.limit"
    devo_code = 1101000


class QueryLimitError(LinqdError):
    """A query exceeded one of its limits (the 32,000-row subquery cap, the time limit)."""

    code = "query.limit"


class TooManyQueries(LinqdError):
    """A domain already runs as many queries (or continuous queries) as it may at once."""

    code = "query.too_many"


class ValidationError(LinqdError):
    """A request parameter is missing or wrong; ``devo_code`` is Devo's numeric code if any."""

    code = "validation"

    def __init__(
        self, message: str, field: str | None = None, devo_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.field = field
        if devo_code is not None:
            self.devo_code = devo_code


class PayloadTooLarge(ValidationError):
    """A request body over its route's limit (HTTP 413)."""

    code = "validation.payload_too_large"


@dataclass(frozen=True)
class Refusal:
    """What linqd's audit tables record of a refused credential, never sent to the client: its
    kind (``hmac``, ``token``, ``jwt``...), why it was refused (more precise than the answer,
    which must not say), and the domain and public name of the credential when it names a
    known one (an existing API key, a token of another kind, a JWT of an existing domain)."""

    kind: str
    reason: str
    domain: str | None = None
    userid: str = ""
    username: str = ""


class AuthError(LinqdError):
    code = "auth.unauthorized"
    # Set where a credential is judged and refused; None when no credential was sent at all.
    refusal: Refusal | None = None

    def because(self, refusal: Refusal) -> Self:
        self.refusal = refusal
        return self


class ForbiddenError(AuthError):
    code = "auth.forbidden"


UNAUTHORIZED = "Unauthorized"
INVALID_SIGNATURE = "Invalid signature validation"
INVALID_TOKEN = "Token invalid or expired"


class MissingCredentials(AuthError):
    """No credential linqd understands was sent (Devo's 401)."""

    code = "auth.missing"
    devo_code = 401

    def __init__(self, message: str = UNAUTHORIZED) -> None:
        super().__init__(message)


class InvalidSignature(AuthError):
    """Anything wrong on the HMAC path (Devo's code 12)."""

    code = "auth.signature"
    devo_code = 12

    def __init__(self, message: str = INVALID_SIGNATURE) -> None:
        super().__init__(message)


class InvalidToken(AuthError):
    """Anything wrong with a token or a JWT (Devo's code 5)."""

    code = "auth.token"
    devo_code = 5

    def __init__(self, message: str = INVALID_TOKEN) -> None:
        super().__init__(message)


class NotFound(LinqdError):
    code = "not_found"


class TaskError(LinqdError):
    """A job call that Devo answers with one of its task codes (100 not found, 101, 108)."""

    code = "job.task"

    def __init__(self, message: str, task_code: int, http_status: int) -> None:
        super().__init__(message)
        self.task_code = task_code
        self.http_status = http_status


class AlertsNotUpdated(ValidationError):
    """``updateStatusList`` named ids that are not alerts of the domain."""

    code = "alerts.not_updated"

    def __init__(self, updated: list[int], not_updated: list[int]) -> None:
        total = len(updated) + len(not_updated)
        super().__init__(
            f"{len(not_updated)} of {total} alert ids were not updated: unknown in this domain"
        )
        self.updated = list(updated)
        self.not_updated = list(not_updated)


class Conflict(LinqdError):
    code = "conflict"


class MethodNotAllowed(LinqdError):
    """An HTTP method that the path does not take."""

    code = "http.method_not_allowed"


class StoreError(LinqdError):
    code = "store"


class QueryFailed(StoreError):
    """The engine could not run a query; the text says why, without the engine's own framing.
    Its code is the generic one: what clients see does not depend on the store."""

    code = LinqdError.code


class TableRefused(StoreError):
    """The store will not hold this table (its name clashes with an existing one): every event
    for it is refused, while other tables go on."""

    code = "store.table_refused"


class SinkError(LinqdError):
    code = "sink"


class DeliveryFailed(SinkError):
    """One attempt to deliver an alert failed; ``permanent``: retrying cannot help."""

    code = "delivery.failed"

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class OutboundRefused(SinkError):
    """A connection that a request asked for goes to an address the operator's outbound
    policy denies (``outbound/policy.py``)."""

    code = "outbound.refused"


class Fenced(LinqdError):
    """This node's lease on a definition or job was taken over by another node: what it was
    about to store is dropped (``cluster/leases.py``)."""

    code = "cluster.fenced"


class MetaUnavailable(LinqdError):
    """The metadata store could not be reached or dropped this node's transaction (a restart,
    a network cut, a transaction held past ``MetaStore``'s hold time)."""

    code = "meta.unavailable"
