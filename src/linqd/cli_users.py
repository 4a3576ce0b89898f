"""``linqd user``: the console's users (the metadata database alone, safe beside a server)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .cli import _domains, data_dir_option
from .clock import SystemClock
from .ui.users import ConsoleUsers, Role


def _users(data_dir: Path) -> ConsoleUsers:
    return ConsoleUsers(_domains(data_dir).meta, SystemClock())


def _password(stdin: bool) -> str | None:
    """The password read from standard input (its first line), or None to make one up."""
    if not stdin:
        return None
    line = sys.stdin.readline()
    return line[:-1] if line.endswith("\n") else line


@click.group()
def user() -> None:
    """Console users: each belongs to one domain and has a role."""


@user.command("create")
@data_dir_option
@click.argument("name")
@click.option("--domain", "domain_name", required=True, help="The domain the user works in.")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.ANALYST.value,
    show_default=True,
    help="viewer: reads only; analyst: also changes alerts and jobs; admin: as analyst.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_create(
    data_dir: Path, name: str, domain_name: str, role: str, password_stdin: bool
) -> None:
    """Create a console user; without --password-stdin a random password is printed (once)."""
    given = _password(password_stdin)
    made = _users(data_dir).create(name, domain_name, Role(role), given)
    click.echo(f"created {name} ({role}) in {domain_name}")
    if given is None:
        click.echo(f"password: {made}")


@user.command("password")
@data_dir_option
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_password(data_dir: Path, name: str, password_stdin: bool) -> None:
    """Set a new password (random unless read from stdin); the user's sessions end."""
    given = _password(password_stdin)
    made = _users(data_dir).set_password(name, given)
    if given is None:
        click.echo(f"password: {made}")


@user.command("list")
@data_dir_option
def user_list(data_dir: Path) -> None:
    """List the users: name, domain and role."""
    for found in _users(data_dir).all():
        click.echo(f"{found.name}\t{found.domain}\t{found.role.value}")


@user.command("delete")
@data_dir_option
@click.argument("name")
def user_delete(data_dir: Path, name: str) -> None:
    """Delete a user and end their sessions."""
    _users(data_dir).delete(name)
    click.echo(f"deleted {name}")
