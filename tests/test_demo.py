"""`republisher demo` as an operator runs it: a working mirror, pictures that load, and nothing left behind."""

import http.cookiejar
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

from helpers import free_port

CONSOLE_SCRIPT = Path(sys.executable).with_name("republisher")


class Links(HTMLParser):
    """The article links and picture addresses of a page."""

    def __init__(self):
        super().__init__()
        self.articles, self.pictures = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and (attrs.get("href") or "").startswith("/articles/"):
            self.articles.append(attrs["href"])
        if tag == "img":
            self.pictures.append(attrs.get("src"))


def read(url: str) -> tuple[int, str, bytes]:
    """Status, content type and body of a GET."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read()


def log_in(site: str, name: str, password: str) -> str:
    """Log in to the desk as a browser would (cookie, CSRF token); returns the page the login leads to."""
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    form = browser.open(site + "/desk/login", timeout=10).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode({"name": name, "password": password, "csrf_token": token}).encode()
    with browser.open(site + "/desk/login", data=data, timeout=30) as landed:
        return landed.geturl() + "\n" + landed.read().decode()


def start_demo(*args, env=None) -> tuple[subprocess.Popen, list[str]]:
    """Start the demo and read its output up to the line that gives the mirror's address."""
    process = subprocess.Popen([str(CONSOLE_SCRIPT), "demo", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env or dict(os.environ))
    lines = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("The mirror is at"):
            return process, lines
    process.kill()
    raise AssertionError("the demo never said where the mirror is:\n" + "\n".join(lines))


def test_the_demo_serves_credited_articles_with_pictures_that_load_and_leaves_nothing_behind():
    port, feeds_port = free_port(), free_port()
    process, lines = start_demo("--port", str(port), "--feeds-port", str(feeds_port))
    try:
        output = "\n".join(lines)
        database = re.search(r"^Demo database: (.+)$", output, re.M).group(1)
        assert f"export REPUBLISHER_DATABASE={database}" in output
        assert "republisher items list --status pending" in output and "republisher items approve" in output
        site = f"http://127.0.0.1:{port}"
        status, _, home = read(site + "/")
        assert status == 200
        home_links = Links()
        home_links.feed(home.decode())
        assert len(set(home_links.articles)) >= 5
        pictures = list(home_links.pictures)
        for article in sorted(set(home_links.articles)):
            _, _, body = read(site + article)
            text = body.decode()
            assert "CC BY" in text or "CC0" in text or "Creative Commons" in text, article
            assert "Original" in text or "original" in text, article
            page = Links()
            page.feed(text)
            pictures += page.pictures
        assert pictures, "the demo's articles show no picture"
        for picture in set(pictures):
            status, content_type, body = read(picture if picture.startswith("http") else site + picture)
            assert status == 200 and content_type.startswith("image/") and body[:8] == b"\x89PNG\r\n\x1a\n", picture
        desk, name, password = re.search(r"^The editors' desk: (\S+)  \(log in as (\S+), password (\S+)\)$",
                                         output, re.M).groups()
        assert desk == site + "/desk/"
        landed = log_in(site, name, password)
        assert landed.startswith(site + "/desk/\n") and "Log out" in landed
    finally:
        process.send_signal(signal.SIGINT)
        remaining, _ = process.communicate(timeout=30)
    assert process.returncode == 0, remaining
    assert "Traceback" not in remaining
    assert not Path(database).parent.exists(), "the demo left its temporary folder behind"
    for listening in (port, feeds_port):
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", listening)) != 0, f"something still listens on {listening}"


def test_a_second_run_on_the_same_database_reuses_its_sources(tmp_path):
    database = tmp_path / "demo.sqlite"
    for port_option in (["--feeds-port", str(free_port())], []):  # the second run finds the first one's port
        done = subprocess.run([str(CONSOLE_SCRIPT), "demo", "--no-serve", "--database", str(database), *port_option],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
    conn = sqlite3.connect(database)
    names = [row[0] for row in conn.execute("SELECT name FROM sources")]
    assert sorted(names) == sorted(set(names)) and len(names) == 5
    assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == 11


def test_a_port_in_use_is_refused_plainly_before_anything_is_built(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([str(CONSOLE_SCRIPT), "demo", "--port", str(port), "--database", str(tmp_path / "d.sqlite")],
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "d.sqlite").exists()
