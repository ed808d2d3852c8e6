"""`republisher users`: editors' accounts, made and changed from the shell only (there is no sign-up)."""

import sys

import click
from flask.cli import AppGroup

from . import accounts, storage
from .cli import clear_errors, emit_json
from .db import get_db

users_cli = AppGroup("users", help="Add, list, disable editors' accounts and set their passwords.")


def read_password(from_stdin: bool) -> str:
    """The new password: the first line of standard input, or typed twice at a hidden prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_cli.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(accounts.ROLES), default="editor", show_default=True,
              help="Editors review items and sources; admins also see the audit log.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (one line).")
@clear_errors
def users_add(name, role, password_stdin):
    """Create an account and print its id."""
    storage.migrate(get_db())
    user = accounts.add_user(get_db(), name, role, read_password(password_stdin))
    click.echo(user["id"])


@users_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@clear_errors
def users_list(as_json):
    """Every account with its role, state and last login."""
    rows = storage.list_users(get_db())
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        state = "disabled" if row["disabled"] else "active"
        click.echo(f"{row['id']:>4} {row['name']:<24} {row['role']:<7} {state:<9} "
                   f"last login {row['last_login_at'] or 'never'}")


@users_cli.command("disable")
@click.argument("name")
@clear_errors
def users_disable(name):
    """Stop an account from logging in; its open sessions end at once."""
    accounts.disable_user(get_db(), name)
    click.echo(f"{name} is disabled; its sessions have ended")


@users_cli.command("enable")
@click.argument("name")
@clear_errors
def users_enable(name):
    """Let a disabled account log in again."""
    accounts.enable_user(get_db(), name)
    click.echo(f"{name} may log in again")


@users_cli.command("set-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (one line).")
@clear_errors
def users_set_password(name, password_stdin):
    """Give an account a new password; its open sessions end."""
    accounts.set_password(get_db(), name, read_password(password_stdin))
    click.echo(f"{name} has a new password; its sessions have ended")
