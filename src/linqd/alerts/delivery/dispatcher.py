"""The dispatcher: turns triggered alerts into deliveries and sends them (see
docs/devo-compatibility.md).

``submit`` decides, in one metadata transaction and without network I/O, which sending
policies and methods an alert goes to (schedule, then anti-flooding), writes one pending
delivery per (alert, method) and the alert's new status when nothing goes out (700 anti-flood,
800 outside the schedule). Worker threads claim what is due (``outbox.py``) and send it; a
failed attempt is retried after the next back-off step and given up after ``max_attempts``.
Everything pending lives in the metadata store, so a new dispatcher on the same database
resumes it, and dispatchers of several nodes sharing PostgreSQL share the work (at least once:
an attempt cut short by a crash is made again when its claim runs out, ``claim_ms`` later).

Decisions:
- A method has at most one delivery in flight per dispatcher. Deliveries to one receiver go in
  order, and a receiver that hangs holds one worker (until its time-out), never all of them.
  Dispatchers of several nodes never send the same delivery at once, but each may have one of
  the same method's deliveries in flight.
- The schedule is checked first: an alert outside it is not counted by anti-flooding.
- A policy whose methods are all unvalidated neither delivers nor counts the alert.
- When several policies apply, the alert is delivered if any of them delivers it; otherwise
  its status is 700 if anti-flooding held it back somewhere, else 800 if a schedule did.
- Deliveries whose method was deleted or is pending validation again fail at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from sqlalchemy import Connection

from ...clock import Clock
from ...errors import DeliveryFailed, NotFound, ValidationError
from ...meta import MetaStore
from ...outbound import DEFAULT_POLICY, OutboundPolicy
from ...sinks.email import SmtpSettings
from ..model import AlertDefinition, AlertStatus, TriggeredAlert
from ..triggered import TriggeredAlertRepository
from . import outbox
from .antiflood import Decision, decide, due_reminder
from .methods import MethodRepository
from .model import Delivery, DeliveryKind, EmailConfig, HttpJsonConfig
from .outbox import CLAIM_MS, Claim, DeliveryOutbox
from .payload import devo_payload, email_message, reminder_text
from .policies import PolicyRepository
from .schedule import within
from .transport import Transport, TransportFactory, guarded_transports
from .vendors import deliver, notice

log = logging.getLogger("linqd.alerts.delivery")

DEFAULT_BACKOFF_MS = (1_000, 5_000, 30_000, 120_000)


class Dispatcher:
    def __init__(
        self,
        meta: MetaStore,
        clock: Clock,
        triggered: TriggeredAlertRepository,
        smtp: SmtpSettings | None,
        *,
        workers: int = 4,
        max_attempts: int = 5,
        backoff_ms: Sequence[int] = DEFAULT_BACKOFF_MS,
        base_url: str = "",
        poll_s: float = 1.0,
        outbound: OutboundPolicy = DEFAULT_POLICY,
        transports: TransportFactory | None = None,
        claim_ms: int = CLAIM_MS,
    ) -> None:
        """``transports`` makes each worker's transport; by default one whose connections
        pass ``outbound`` (tests hand in clients over ``httpx.MockTransport``). ``claim_ms``:
        how long a worker holds a delivery it took before another may take it again."""
        if workers < 1 or max_attempts < 1 or not backoff_ms or claim_ms < 1:
            raise ValueError("workers, max_attempts, backoff_ms and claim_ms must be positive")
        self.meta = meta
        self.clock = clock
        self.triggered = triggered
        self.smtp = smtp
        self.workers = workers
        self.max_attempts = max_attempts
        self.backoff_ms = tuple(backoff_ms)
        self.base_url = base_url.rstrip("/")
        self.poll_s = poll_s  # the longest a worker sleeps without being woken
        self.claim_ms = claim_ms
        # Each worker's transport; webhook URLs reach only what ``outbound`` allows.
        self._transports = transports or guarded_transports(smtp, outbound)
        self._outbox = DeliveryOutbox(meta)
        self._cond = threading.Condition()
        self._in_flight: dict[int, int] = {}  # delivery id -> method id
        self._generation = 0  # bumped by every wake-up, so a wake-up between checks is not lost
        self._stopping = False
        self._threads: list[threading.Thread] = []

    # -- the engine's side ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the workers; they first send whatever an earlier dispatcher left pending."""
        with self._cond:
            if self._threads or self._stopping:
                return
            for number in range(self.workers):
                thread = threading.Thread(
                    target=self._work, name=f"linqd-delivery-{number}", daemon=True
                )
                self._threads.append(thread)
        for thread in self._threads:
            thread.start()

    def submit(self, alert: TriggeredAlert, definition: AlertDefinition) -> AlertStatus:
        """Plan the deliveries of a stored alert and return its status. Submitting the same alert
        again changes nothing and returns the same status."""
        if alert.id <= 0:
            raise ValidationError("A triggered alert must be stored before it is delivered")
        if alert.domain != definition.domain:
            raise ValidationError("The alert and its definition belong to different domains")
        now = self.clock.now_ms()
        with self.meta.transaction() as conn:
            if outbox.record_submission(conn, alert.id, alert.domain, alert.status, now):
                status = self._plan(conn, alert, definition, now)
                if status != alert.status:
                    outbox.set_submitted(conn, alert.id, status)
            else:
                status = outbox.submitted(conn, alert.id)
        self._wake()
        return status

    def tick(self) -> int:
        """Turn due reminders into deliveries and wake the workers for due retries; the number
        of reminders created."""
        created = self._remind(self.clock.now_ms())
        self._wake()
        return created

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until nothing is in flight and nothing pending is due."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if not self._in_flight and not self._outbox.busy(self.clock.now_ms()):
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))

    def close(self, timeout: float = 5.0) -> None:
        """Stop the workers. Pending deliveries stay stored for the next dispatcher; a worker
        still waiting on a receiver after ``timeout`` seconds is left to finish on its own."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    # -- planning (inside submit's transaction) --------------------------------------------------

    def _plan(
        self,
        conn: Connection,
        alert: TriggeredAlert,
        definition: AlertDefinition,
        now: int,
    ) -> AlertStatus:
        delivered = held = outside = False
        for policy in PolicyRepository.resolve(
            conn, alert.domain, definition.spec.action_policy_ids
        ):
            if not within(policy.spec.schedule, now):
                outside = True
                continue
            methods = MethodRepository.validated(conn, alert.domain, policy.spec.methods)
            if not methods:
                continue
            state = outbox.flood_state(conn, policy.id, definition.id, alert.domain)
            decision, state = decide(state, now, policy.spec.anti_flooding, alert.id)
            outbox.save_flood_state(conn, policy.id, definition.id, alert.domain, state)
            if decision is Decision.SUPPRESS:
                held = True
                continue
            for method_id in methods:
                outbox.add(
                    conn,
                    domain=alert.domain,
                    alert_id=alert.id,
                    method_id=method_id,
                    policy_id=policy.id,
                    now_ms=now,
                )
            delivered = True
        status = alert.status
        if not delivered and held:
            status = AlertStatus.ANTI_FLOOD
        elif not delivered and outside:
            status = AlertStatus.SUPPRESSED
        if status != alert.status:
            outbox.set_alert_status(conn, alert.domain, alert.id, status, now)
        return status

    def _remind(self, now: int) -> int:
        created = 0
        with self.meta.transaction() as conn:
            for policy_id, definition_id, domain, state in outbox.due_flood_states(conn, now):
                reminder, state = due_reminder(state, now)
                outbox.save_flood_state(conn, policy_id, definition_id, domain, state)
                policy = PolicyRepository.find(conn, policy_id)
                if reminder is None or policy is None:
                    continue
                methods = MethodRepository.validated(conn, domain, policy.spec.methods)
                for method_id in methods:
                    outbox.add(
                        conn,
                        domain=domain,
                        alert_id=reminder.alert_id,
                        method_id=method_id,
                        policy_id=policy_id,
                        now_ms=now,
                        reminder=reminder,
                    )
                outbox.set_alert_status(conn, domain, reminder.alert_id, AlertStatus.REMINDER, now)
                created += 1
        return created

    # -- workers ---------------------------------------------------------------------------------

    def _wake(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def _work(self) -> None:
        transport = self._transports()
        try:
            while True:
                with self._cond:
                    if self._stopping:
                        return
                    generation = self._generation
                failed = False
                try:
                    if self._step(transport):
                        continue
                    wait_s = self._wait_s()
                except Exception:
                    with self._cond:
                        if self._stopping:  # the database may be closing under us
                            return
                    # A database error must not end the worker: log it, try again later.
                    log.exception("delivery worker error")
                    failed, wait_s = True, self.poll_s
                with self._cond:
                    if not self._stopping and (failed or generation == self._generation):
                        self._cond.wait(wait_s)
        finally:
            transport.close()

    def _step(self, transport: Transport) -> bool:
        """Send one due delivery or create due reminders; False when there was nothing to do."""
        now = self.clock.now_ms()
        # Claimed and counted in flight under the lock, so wait_idle never sees a delivery
        # that is neither due nor in flight.
        with self._cond:
            claim = self._outbox.claim(now, set(self._in_flight.values()), self.claim_ms)
            if claim is not None:
                self._in_flight[claim.delivery.id] = claim.delivery.method_id
        if claim is None:
            return self._remind(now) > 0
        try:
            self._attempt(transport, claim)
        finally:
            with self._cond:
                del self._in_flight[claim.delivery.id]
                self._generation += 1
                self._cond.notify_all()
        return True

    def _wait_s(self) -> float:
        due = self._outbox.next_wake_ms()
        if due is None:
            return self.poll_s
        return min(self.poll_s, max(0.005, (due - self.clock.now_ms()) / 1000))

    def _attempt(self, transport: Transport, claim: Claim) -> None:
        delivery = claim.delivery
        error: str | None = None
        permanent = False
        try:
            self._send(transport, delivery)
        except DeliveryFailed as exc:
            error, permanent = exc.message, exc.permanent
        except Exception as exc:
            # A bug must cost this delivery its attempts, not stall the outbox on it.
            log.exception("delivery %d: unexpected error", delivery.id)
            error = f"internal error: {type(exc).__name__}"
        now = self.clock.now_ms()
        attempts = delivery.attempts + 1
        give_up = permanent or attempts >= self.max_attempts
        step = self.backoff_ms[min(attempts, len(self.backoff_ms)) - 1]
        if not self._outbox.finish(claim, now, error, give_up=give_up, retry_at_ms=now + step):
            log.warning(
                "delivery %d (alert %d, method %d): the attempt outlasted its claim and another "
                "worker has taken the delivery again; this attempt is not recorded",
                delivery.id,
                delivery.alert_id,
                delivery.method_id,
            )
        elif error is not None:
            outcome = "gave up" if give_up else f"retry in {step} ms"
            log.warning(
                "delivery %d (alert %d, method %d) attempt %d failed, %s: %s",
                delivery.id,
                delivery.alert_id,
                delivery.method_id,
                attempts,
                outcome,
                error,
            )

    def _send(self, transport: Transport, delivery: Delivery) -> None:
        with self.meta.transaction() as conn:
            method = MethodRepository.find(conn, delivery.method_id)
        if method is None or method.domain != delivery.domain:
            raise DeliveryFailed("the delivery method no longer exists", permanent=True)
        if not method.validated:
            raise DeliveryFailed("the delivery method is pending validation", permanent=True)
        try:
            alert = self.triggered.get(delivery.domain, delivery.alert_id)
        except NotFound:
            raise DeliveryFailed("the alert no longer exists", permanent=True) from None
        reminder = None
        if delivery.kind is DeliveryKind.REMINDER:
            first = delivery.first_ms if delivery.first_ms is not None else alert.alert_date
            last = delivery.last_ms if delivery.last_ms is not None else first
            reminder = reminder_text(alert, delivery.suppressed, first, last)
        url = f"{self.base_url}/alerts/v1/alerts/get?id={alert.id}" if self.base_url else ""
        payload = devo_payload(
            alert, alert_url=url, reminder=reminder, suppressed=delivery.suppressed
        )
        config = method.config
        if isinstance(config, HttpJsonConfig):
            key = (
                alert.digest if delivery.kind is DeliveryKind.ALERT else f"{alert.digest}.reminder"
            )
            transport.post(config, payload, idempotency_key=key)
            return
        if not isinstance(config, EmailConfig):
            deliver(transport, config, notice(alert, payload), retry=delivery.attempts > 0)
            return
        sender = self.smtp.sender if self.smtp is not None else "linqd@localhost"
        # The same Message-ID on every attempt, so a receiver can drop a repeated mail.
        message_id = f"<linqd.delivery.{delivery.id}@{sender.rpartition('@')[2] or 'linqd'}>"
        message = email_message(
            payload,
            alert,
            sender=sender,
            to=config.email,
            message_id=message_id,
            now_ms=self.clock.now_ms(),
        )
        transport.mail(config, message)
