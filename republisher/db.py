"""The database for the current app context (flaskr's get_db, on sqlite-utils)."""

from flask import current_app, g

from . import storage


def get_db():
    """The request's (or command's) database connection, opened on first use."""
    if "db" not in g:
        g.db = storage.connect(current_app.config["DATABASE"])
    return g.db


def close_db(exc=None) -> None:
    """Close the connection at the end of the request or command."""
    db = g.pop("db", None)
    if db is not None:
        db.conn.close()


def init_app(app) -> None:
    """Register the teardown that closes the connection."""
    app.teardown_appcontext(close_db)
