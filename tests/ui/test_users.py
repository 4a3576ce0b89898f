"""Console users: `linqd user`, argon2 hashes, the first start's admin and its password."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from linqd.cli import main
from linqd.clock import SimulatedClock
from linqd.datadir import META_FILE
from linqd.domains import DomainStore
from linqd.errors import Conflict, NotFound, ValidationError
from linqd.meta import MetaStore, schema
from linqd.server import ensure_credentials
from linqd.ui.sessions import Sessions
from linqd.ui.users import HISTORY_SIZE, ConsoleUsers, Role


def users_of(data_dir: Path) -> ConsoleUsers:
    return ConsoleUsers(MetaStore(data_dir / META_FILE), SimulatedClock())


def test_first_start_makes_admin_and_writes_its_password(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    credentials = ensure_credentials(data_dir)
    assert credentials["consoleUser"] == "admin"
    password = credentials["consolePassword"]
    admin = users_of(data_dir).verify("admin", password)
    assert admin is not None and admin.domain == "self" and admin.role is Role.ADMIN
    # A second start changes nothing, and the file stays private.
    assert ensure_credentials(data_dir)["consolePassword"] == password
    assert (data_dir / "credentials.json").stat().st_mode & 0o777 == 0o600
    assert json.loads((data_dir / "credentials.json").read_text())["apiKey"]


def test_cli_creates_users_with_a_given_or_random_password(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    runner = CliRunner()
    assert (
        runner.invoke(main, ["domain", "create", "soc", "--data-dir", str(data_dir)]).exit_code == 0
    )
    given = runner.invoke(
        main,
        [
            "user",
            "create",
            "bob",
            "--domain",
            "soc",
            "--role",
            "viewer",
            "--password-stdin",
            "--data-dir",
            str(data_dir),
        ],
        input="a long passphrase\n",
    )
    assert given.exit_code == 0, given.output
    assert "password" not in given.output
    made = runner.invoke(
        main, ["user", "create", "amy", "--domain", "soc", "--data-dir", str(data_dir)]
    )
    assert made.exit_code == 0
    password = made.output.split("password: ")[1].strip()
    users = users_of(data_dir)
    bob = users.verify("bob", "a long passphrase")
    assert bob is not None and bob.role is Role.VIEWER and bob.domain == "soc"
    amy = users.verify("amy", password)
    assert amy is not None and amy.role is Role.ANALYST
    assert users.verify("amy", password + "x") is None
    listed = runner.invoke(main, ["user", "list", "--data-dir", str(data_dir)])
    assert listed.output.splitlines() == ["amy\tsoc\tanalyst", "bob\tsoc\tviewer"]
    again = runner.invoke(
        main, ["user", "create", "amy", "--domain", "soc", "--data-dir", str(data_dir)]
    )
    assert again.exit_code != 0 and "already exists" in again.output
    nowhere = runner.invoke(
        main, ["user", "create", "zed", "--domain", "nope", "--data-dir", str(data_dir)]
    )
    assert nowhere.exit_code != 0 and "Unknown domain" in nowhere.output


@pytest.fixture
def meta(meta_target: str) -> Iterator[MetaStore]:
    """A metadata store (SQLite, then PostgreSQL) with the domain ``self``."""
    store = MetaStore(meta_target)
    DomainStore(store, SimulatedClock()).create_domain("self")
    yield store
    store.close()


def test_only_argon2_hashes_are_stored(tmp_path: Path) -> None:
    meta = MetaStore(tmp_path / "meta.sqlite")
    DomainStore(meta, SimulatedClock()).create_domain("self")
    users = ConsoleUsers(meta, SimulatedClock())
    users.create("ana", "self", Role.ANALYST, "plain text secret")
    with meta.transaction() as conn:
        stored = conn.execute(select(schema.console_users.c.password_hash)).scalar_one()
    meta.close()
    raw = b"".join(path.read_bytes() for path in tmp_path.glob("meta.sqlite*"))
    assert b"plain text secret" not in raw
    assert stored.startswith("$argon2id$")


def test_user_rules(meta: MetaStore) -> None:
    users = ConsoleUsers(meta, SimulatedClock())
    with pytest.raises(ValidationError):
        users.create("ana", "self", Role.ANALYST, "short")
    with pytest.raises(ValidationError):
        users.create("no spaces", "self", Role.ANALYST, "long enough")
    with pytest.raises(NotFound):
        users.create("ana", "nope", Role.ANALYST, "long enough")
    users.create("ana", "self", Role.ANALYST, "long enough")
    with pytest.raises(Conflict):
        users.create("ana", "self", Role.VIEWER, "long enough")
    assert users.verify("ana", "x" * 10_000) is None
    assert users.verify("nobody", "long enough") is None
    new = users.set_password("ana")
    assert users.verify("ana", "long enough") is None and users.verify("ana", new)
    users.set_time_zone("ana", "Europe/Madrid")
    assert (user := users.get("ana")) is not None and user.time_zone == "Europe/Madrid"
    with pytest.raises(ValidationError):
        users.set_time_zone("ana", "Mars/Olympus")


def test_users_list_in_code_point_order(meta: MetaStore) -> None:
    users = ConsoleUsers(meta, SimulatedClock())
    names = ["amy", "Bea", "_ops"]
    for name in names:
        users.create(name, "self", Role.VIEWER, "long enough")
    # A PostgreSQL locale would put "amy" before "Bea": both backends list as Python sorts.
    assert [user.name for user in users.all()] == sorted(names)


def test_deleting_a_user_takes_their_sessions_and_history(meta: MetaStore) -> None:
    """The sessions' foreign key (enforced on both backends) must not stop the delete, and
    nothing of the user stays behind for a later user of the same name."""
    clock = SimulatedClock()
    users = ConsoleUsers(meta, clock)
    users.create("ana", "self", Role.ANALYST, "long enough")
    users.create("vic", "self", Role.VIEWER, "long enough")
    sessions = Sessions(meta, users, clock)
    ana = users.get("ana")
    vic = users.get("vic")
    assert ana is not None and vic is not None
    cookie = sessions.start(ana)
    kept = sessions.start(vic)
    users.remember("ana", "from my.app.x", "1h", "now")
    users.remember("vic", "from my.app.y", "1h", "now")
    users.delete("ana")
    with pytest.raises(NotFound):
        users.delete("ana")
    assert users.get("ana") is None and sessions.find(cookie) is None
    with meta.transaction() as conn:
        left = conn.execute(select(schema.console_sessions.c.user)).scalars().all()
    assert left == ["vic"] and users.history("ana") == []
    assert [entry.query for entry in users.history("vic")] == ["from my.app.y"]
    assert (found := sessions.find(kept)) is not None and found.user.name == "vic"


def test_history_keeps_the_last_distinct_queries(meta: MetaStore) -> None:
    clock = SimulatedClock()
    users = ConsoleUsers(meta, clock)
    users.create("ana", "self", Role.ANALYST, "long enough")
    users.create("bob", "self", Role.ANALYST, "long enough")
    users.remember("bob", "from t20", "1h", "now")
    for i in range(HISTORY_SIZE + 10):
        clock.advance(1)
        users.remember("ana", f"from t{i}", "1h", "now")
    users.remember("ana", "from t20", "1d", "now")  # run again: moves to the top, once
    history = users.history("ana")
    assert len(history) == HISTORY_SIZE
    assert history[0].query == "from t20" and history[0].from_text == "1d"
    assert [h.query for h in history].count("from t20") == 1
    assert history[-1].query == "from t10"
    # Newest first by the order they were kept in, not by the clock alone.
    assert [h.at_ms for h in history[1:]] == sorted((h.at_ms for h in history[1:]), reverse=True)
    # Another user's history is neither trimmed nor touched.
    assert [h.query for h in users.history("bob")] == ["from t20"]


def test_make_run_prints_the_console_address_and_password(tmp_path: Path) -> None:
    from linqd.cli import HOW_TO_QUERY

    credentials = ensure_credentials(tmp_path / "data")
    shown = HOW_TO_QUERY.format(url="http://127.0.0.1:8080", data_dir=tmp_path, **credentials)
    assert "http://127.0.0.1:8080/ui" in shown
    assert f"user admin, password\n{credentials['consolePassword']}" in shown
