"""Shared fixtures: an app on a real SQLite file, its database, and sample feed bytes."""

import pytest
from pytest_httpserver import HTTPServer

from helpers import serving_directory
from republisher import create_app, storage


@pytest.fixture
def app(tmp_path):
    """An app whose database is a fresh SQLite file, allowed to fetch from 127.0.0.1."""
    app = create_app({
        "TESTING": True,
        "DATABASE": str(tmp_path / "republisher.sqlite"),
        "ALLOW_PRIVATE_ADDRESSES": True,
        "SITE_URL": "http://mirror.test",
        "SECRET_KEY": "test-secret",
        "FETCH_DEADLINE": 5,
        "FETCH_READ_TIMEOUT": 2,
        "FETCH_CONNECT_TIMEOUT": 2,
    })
    db = storage.connect(app.config["DATABASE"])
    storage.migrate(db)
    db.conn.close()
    return app


@pytest.fixture
def db(app):
    """A connection to the app's database."""
    connection = storage.connect(app.config["DATABASE"])
    yield connection
    connection.conn.close()


@pytest.fixture
def runner(app):
    """Click runner for the app's commands."""
    return app.test_cli_runner()



@pytest.fixture
def server():
    """A threaded HTTP server on 127.0.0.1, so that a slow response holds no other."""
    httpserver = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    httpserver.start()
    yield httpserver
    httpserver.clear()
    if httpserver.is_running():
        httpserver.stop()


@pytest.fixture
def static_server(tmp_path):
    """A plain static file server on a free port of 127.0.0.1, serving DIR/current (an export's root)."""
    root = tmp_path / "site"
    root.mkdir()
    with serving_directory(root / "current") as port:
        yield root, port
