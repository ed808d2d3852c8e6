"""`republisher backup PATH`: a consistent, checked copy of the database, taken while the service runs."""

import os
import sqlite3
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from . import storage
from .errors import BackupError


def backup(database: str, target: str) -> dict:
    """Write a checked copy of `database` at `target`, replacing it atomically; returns what the copy holds."""
    destination = Path(target)
    if not Path(database).is_file():
        raise BackupError(f"no database at {database}")
    if destination.exists() and destination.resolve() == Path(database).resolve():
        raise BackupError("the backup would overwrite the database itself")
    if not destination.parent.is_dir():
        raise BackupError(f"no such folder: {destination.parent}")
    partial = destination.with_name(f".{destination.name}.partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    try:
        try:
            storage.copy_into(database, partial)
        except sqlite3.Error as exc:
            raise BackupError(f"could not copy {database}: {exc}") from exc
        summary = storage.copy_summary(partial)
        if summary["integrity"] != ["ok"]:
            raise BackupError(f"the copy failed its integrity check: {summary['integrity'][0]}")
        os.replace(partial, destination)  # whoever reads `target` finds the old copy or the new one, whole
    finally:
        partial.unlink(missing_ok=True)
    return dict(summary, path=str(destination), bytes=destination.stat().st_size)


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def backup_command(path):
    """Write a consistent copy of the database to PATH (safe while the site and the fetcher run)."""
    try:
        done = backup(current_app.config["DATABASE"], path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Backup {done['path']}: {done['bytes']} bytes, {done['sources']} sources, "
               f"{done['items']} items, {done['revisions']} revisions; integrity check ok")
