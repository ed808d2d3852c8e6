"""The desk's doors: login, sessions, CSRF on every form, cookies only under /desk, and the lockout."""

import http.cookiejar
import re
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

import helpers
from helpers import CSRF_FIELD, csrf_token, free_port
from republisher import accounts, create_app, storage

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "a long enough passphrase"
# long enough for twenty argon2 hashes on a busy machine: the failures must fall within one window
LOCKOUT_SECONDS = 10


@pytest.fixture
def editor(db):
    """An editor's account."""
    return accounts.add_user(db, "editor", "editor", PASSWORD)


@pytest.fixture
def admin(db):
    """An admin's account."""
    return accounts.add_user(db, "chief", "admin", PASSWORD)


def log_in(client, name="editor", password=PASSWORD, next_path=None):
    """Post the login form with its token; returns the response."""
    return helpers.log_in(client, name, password, next_path)


def desk_rules(app):
    """Every desk route but the login form, with a URL for it (numbers for its arguments)."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("desk.") and rule.endpoint != "desk.login":
            yield rule, re.sub(r"<[^>]+>", "1", rule.rule)


def test_every_desk_route_sends_strangers_to_the_login(app):
    client = app.test_client()
    rules = list(desk_rules(app))
    assert len(rules) >= 15
    token = csrf_token(client)
    for rule, url in rules:
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(url, method=method, data={"csrf_token": token})
            assert response.status_code == 302, (method, url)
            assert urllib.parse.urlsplit(response.location).path == "/desk/login", (method, url)


def test_every_state_change_needs_a_valid_csrf_token(app, db, editor):
    client = app.test_client()
    assert log_in(client).status_code == 302
    posts = [(rule, url) for rule, url in desk_rules(app) if rule.methods - {"GET", "HEAD", "OPTIONS"}]
    assert {rule.endpoint for rule, _ in posts} >= {"desk.logout", "desk.bulk", "desk.approve", "desk.withdraw"}
    for rule, url in posts:
        for form in ({}, {"csrf_token": "forged"}):
            response = client.post(url, data=dict(form, action="approve", item="1", reason="r"))
            assert response.status_code == 400, url
            assert "CSRF" in response.get_data(as_text=True), url
    # still logged in: logout without a token did nothing
    assert client.get("/desk/sources/").status_code == 200


def test_no_editor_action_is_possible_by_get(app):
    for rule, url in desk_rules(app):
        if "GET" in rule.methods:
            assert rule.endpoint in ("desk.queue", "desk.item", "desk.withdraw", "desk.sources", "desk.add_source",
                                     "desk.source", "desk.audit_log"), rule.endpoint


def test_a_login_starts_a_new_session_and_logout_ends_it_for_every_copy(app, editor):
    client = app.test_client()
    token_before = csrf_token(client)
    before = client.get_cookie("republisher_desk", path="/desk").value
    response = client.post("/desk/login", data={"name": "editor", "password": PASSWORD, "csrf_token": token_before})
    assert response.status_code == 302 and response.location == "/desk/"
    after = client.get_cookie("republisher_desk", path="/desk").value
    assert after != before
    # nothing of the session before the login survives it, its CSRF token included
    assert csrf_token(client, "/desk/sources/") != token_before
    assert client.get("/desk/").status_code == 200

    thief = app.test_client()
    thief.set_cookie("republisher_desk", after, path="/desk")
    assert thief.get("/desk/sources/").status_code == 200
    client.post("/desk/logout", data={"csrf_token": csrf_token(client, "/desk/sources/")})
    assert thief.get("/desk/sources/").status_code == 302, "a copied cookie dies with the logout"


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(app, editor):
    wrong = log_in(app.test_client(), password="not the password")
    unknown = log_in(app.test_client(), name="nobody")
    assert wrong.status_code == unknown.status_code == 200
    for response in (wrong, unknown):
        assert accounts.LOGIN_FAILED in response.get_data(as_text=True)
        assert "republisher_desk" not in str(response.headers.get("Location"))


def test_disabling_an_account_or_changing_its_password_ends_its_sessions(app, runner, editor):
    client = app.test_client()
    log_in(client)
    assert client.get("/desk/").status_code == 200
    runner.invoke(args=["users", "set-password", "editor", "--password-stdin"], input="another passphrase!\n")
    assert client.get("/desk/").status_code == 302
    log_in(client, password="another passphrase!")
    assert client.get("/desk/").status_code == 200
    assert runner.invoke(args=["users", "disable", "editor"]).exit_code == 0
    assert client.get("/desk/").status_code == 302
    assert accounts.LOGIN_FAILED in log_in(client, password="another passphrase!").get_data(as_text=True)


def test_an_idle_session_ends(tmp_path):
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "idle.sqlite"), "SECRET_KEY": "k",
                      "SITE_URL": "http://mirror.test", "DESK_IDLE_SECONDS": 1})
    db = storage.connect(app.config["DATABASE"])
    storage.migrate(db)
    accounts.add_user(db, "editor", "editor", PASSWORD)
    client = app.test_client()
    log_in(client)
    assert client.get("/desk/sources/").status_code == 200
    time.sleep(1.2)
    response = client.get("/desk/sources/")
    assert response.status_code == 302 and "/desk/login" in response.location


GOOD_NEXT = ["/desk/sources/", "/desk/items/3?x=1"]
HOSTILE_NEXT = [
    "https://evil.example/", "http://evil.example/desk/", "//evil.example/", "///evil.example/",
    "/\\evil.example/", "\\\\evil.example", "/%2F%2Fevil.example/", "/%2f/evil.example", "/%5Cevil.example",
    "%5C%5Cevil.example", "/\t/evil.example", "/\n/evil.example", "/desk/\r\nSet-Cookie: x=1",
    "javascript:alert(1)", "JavaScript:alert(1)", " //evil.example", "desk/", "",
]


@pytest.mark.parametrize("target", GOOD_NEXT)
def test_login_returns_to_a_local_page(app, editor, target):
    assert log_in(app.test_client(), next_path=target).location == target


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_login_never_sends_its_user_to_another_site(app, editor, target):
    response = log_in(app.test_client(), next_path=target)
    assert response.status_code == 302
    assert response.location == "/desk/", target


def test_the_next_field_on_the_login_form_is_cleaned_too(app):
    body = app.test_client().get("/desk/login?next=//evil.example/").get_data(as_text=True)
    assert "evil.example" not in body


def test_public_pages_stay_cookieless_and_desk_cookies_are_scoped_and_private(app, editor):
    client = app.test_client()
    for path in ("/", "/sources/", "/feed.xml", "/healthz"):
        assert "Set-Cookie" not in client.get(path).headers, path
    response = client.get("/desk/login")
    cookie = response.headers["Set-Cookie"]
    assert "Path=/desk" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie, "http:// sites are development"
    assert response.headers["Cache-Control"] == "no-store"
    log_in(client)
    for path in ("/desk/", "/desk/sources/"):
        page = client.get(path)
        assert page.headers["Cache-Control"] == "no-store" and "Cookie" in page.headers["Vary"], path
    # the cookie is never sent to public pages, so they stay cacheable
    assert client.get_cookie("republisher_desk", path="/desk") is not None
    assert client.get_cookie("republisher_desk", path="/") is None


def test_desk_cookies_are_secure_when_the_site_is_https(tmp_path):
    app = create_app({"DATABASE": str(tmp_path / "s.sqlite"), "SITE_URL": "https://mirror.example",
                      "SECRET_KEY": "k"})
    storage.migrate(storage.connect(app.config["DATABASE"]))
    response = app.test_client().get("/desk/login", base_url="https://mirror.example")
    assert "Secure" in response.headers["Set-Cookie"]


def test_the_audit_log_is_for_admins_only(app, editor, admin):
    client = app.test_client()
    log_in(client)
    assert client.get("/desk/audit").status_code == 403
    other = app.test_client()
    log_in(other, name="chief")
    assert other.get("/desk/audit").status_code == 200


# ---------------------------------------------------------------- the lockout across processes


class DeskClient:
    """A browser-like client of one server: cookies kept, redirects not followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        """Hand back redirects instead of following them."""

        def redirect_request(self, *args, **kwargs):
            """Do not follow."""
            return None

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  self.NoRedirect())

    def request(self, path: str, form: dict | None = None) -> tuple[int, str, str]:
        """(status, body, Location) of a GET, or a POST of the form."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(self.base + path, data=data, timeout=30) as response:
                return response.status, response.read().decode(), response.headers.get("Location") or ""
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), error.headers.get("Location") or ""

    def log_in(self, password: str) -> tuple[int, str, str]:
        """Post the login form with a fresh token."""
        token = CSRF_FIELD.search(self.request("/desk/login")[1]).group(1)
        return self.request("/desk/login", {"name": "editor", "password": password, "csrf_token": token})


@pytest.fixture
def two_servers(tmp_path):
    """Two `republisher serve` processes on one database file, each on its own free port."""
    database = tmp_path / "shared.sqlite"
    db = storage.connect(str(database))
    storage.migrate(db)
    accounts.add_user(db, "editor", "editor", PASSWORD)
    db.conn.close()
    env = dict(os.environ, PYTHONPATH=str(REPO), REPUBLISHER_DATABASE=str(database),
               REPUBLISHER_SECRET_KEY="shared-secret", REPUBLISHER_SITE_URL="http://127.0.0.1",
               REPUBLISHER_TRUSTED_HOSTS="127.0.0.1", REPUBLISHER_LOGIN_LOCKOUT_SECONDS=str(LOCKOUT_SECONDS))
    processes, bases = [], []
    for _ in range(2):
        port = free_port()
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "serve", "--no-worker", "--port", str(port)],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        bases.append(f"http://127.0.0.1:{port}")
    try:
        for base in bases:
            wait_for(base)
        yield bases, database
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


def wait_for(base: str, seconds: float = 20) -> None:
    """Block until a server answers."""
    stop = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2).close()
            return
        except OSError:
            if time.monotonic() > stop:
                raise
            time.sleep(0.1)


def test_twenty_failures_spread_over_two_processes_lock_the_account_until_the_window_passes(two_servers):
    bases, database = two_servers
    clients = [DeskClient(base) for base in bases]
    for attempt in range(20):
        status, body, _ = clients[attempt % 2].log_in("wrong password, attempt %d" % attempt)
        assert status == 200 and accounts.LOGIN_FAILED in body, attempt
    for client in clients:
        status, body, location = client.log_in(PASSWORD)
        assert status == 429 and "Too many failed logins" in body and not location
    db = storage.connect(str(database))
    attempts = storage.login_attempts(db, "editor")
    # the refused attempts never reached the hash: nothing in them was checked, so nothing says "failed"
    assert [row["outcome"] for row in attempts] == ["refused", "refused"] + ["failed"] * 20
    last_failure = attempts[2]["at"]
    assert clients[0].log_in(PASSWORD)[0] == 429, "the lock holds until the window has passed"
    time.sleep(max(0.0, last_failure + LOCKOUT_SECONDS + 0.2 - time.time()))
    status, _, location = clients[1].log_in(PASSWORD)
    assert status == 302 and location.endswith("/desk/")
    assert clients[1].request("/desk/sources/")[0] == 200
    # the success starts the count again
    assert clients[0].log_in("wrong again")[0] == 200
    assert storage.login_attempts(db, "editor", limit=2)[0]["outcome"] == "failed"
    db.conn.close()
