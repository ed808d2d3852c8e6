"""What `republisher serve` tells its operator: warnings at start, an access log, one line per editor action."""

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

from helpers import REPO, free_port, refresh, sample_feed
from republisher import accounts, storage

PASSWORD = "a long enough passphrase"


def start_serve(database: str, port: int, *args, **env) -> subprocess.Popen:
    """`serve` on a free port in its own process, stderr piped; returns once it answers."""
    environment = dict(os.environ, PYTHONPATH=str(REPO), REPUBLISHER_DATABASE=database, **env)
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "serve", "--port", str(port),
                                "--no-worker", *args], cwd=REPO, env=environment,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            assert process.poll() is None, process.stderr.read()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)


def stop(process: subprocess.Popen) -> str:
    """Stop the server as Ctrl+C would; returns what it wrote on stderr."""
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=20)
    return stderr


def test_serve_warns_when_the_site_url_names_another_port_and_no_secret_key_is_set(app):
    port, other = free_port(), free_port()
    process = start_serve(app.config["DATABASE"], port, REPUBLISHER_SITE_URL=f"http://127.0.0.1:{other}")
    stderr = stop(process)
    assert f"Warning: REPUBLISHER_SITE_URL is http://127.0.0.1:{other} but the site listens on port {port}" in stderr
    assert "Warning: REPUBLISHER_SECRET_KEY is not set" in stderr


def test_serve_is_quiet_when_its_settings_agree(app):
    port = free_port()
    process = start_serve(app.config["DATABASE"], port, REPUBLISHER_SITE_URL=f"http://127.0.0.1:{port}",
                          REPUBLISHER_SECRET_KEY="shared by every process")
    assert "Warning" not in stop(process)


def test_the_access_log_and_one_line_per_editor_action_in_json(app, db, httpserver):
    httpserver.expect_request("/feed").respond_with_data(sample_feed("harbor-wire.xml"), content_type="application/rss+xml")
    source = storage.add_source(db, httpserver.url_for("/feed"))
    refresh(app, db, source["id"])
    item = storage.list_items(db, source_id=source["id"], status="pending")[0]
    accounts.add_user(db, "ines", "editor", PASSWORD)
    port = free_port()
    site = f"http://127.0.0.1:{port}"
    process = start_serve(app.config["DATABASE"], port, "--access-log", REPUBLISHER_SITE_URL=site,
                          REPUBLISHER_SECRET_KEY="shared by every process", REPUBLISHER_LOG_FORMAT="json")
    try:
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

        def post(path: str, form: dict) -> None:
            page = browser.open(site + path, timeout=10).read().decode()
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            browser.open(site + (form.pop("to", None) or path), data=urllib.parse.urlencode(
                dict(form, csrf_token=token)).encode(), timeout=30).read()

        post("/desk/login", {"name": "ines", "password": PASSWORD})
        post(f"/desk/items/{item['id']}", {"to": f"/desk/items/{item['id']}/approve"})
        browser.open(site + "/?x=%0d%0aforged", timeout=10).read()
    finally:
        stderr = stop(process)
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    actions = [line for line in lines if line["logger"] == "republisher.audit"]
    assert [(line["actor"], line["action"], line["item_id"]) for line in actions] == [("ines", "approve", item["id"])]
    requests = [line for line in lines if line["logger"] == "republisher.access"]
    posted = [line for line in requests if line["method"] == "POST"]
    assert [(line["path"], line["status"]) for line in posted] == [
        ("/desk/login", 302), (f"/desk/items/{item['id']}/approve", 302)]
    assert requests[-1]["path"] == "/?x=%0d%0aforged" and requests[-1]["status"] == 200
    assert all(isinstance(line["bytes"], int) and line["ms"] >= 0 for line in requests)
