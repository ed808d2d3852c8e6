"""The desk's pages pass the Nu HTML Checker and axe-core, as the public pages do (see test_validity.py)."""

import http.cookiejar
import json
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest

from republisher import accounts, storage

from test_validity import axe_violations, describe_axe, describe_vnu, BLOCKING_IMPACTS

PASSWORD = "a long enough passphrase"
DESK_PAGES = ("login", "queue", "blocked", "item", "item-published", "withdraw", "sources", "source", "source-new",
              "audit", "not-found")


@pytest.fixture(scope="module")
def desk_paths(reader_site) -> dict[str, str]:
    """Path of each desk page kind on the reader site, with an admin to see them all."""
    if storage.find_user(reader_site.db, "validator") is None:
        accounts.add_user(reader_site.db, "validator", "admin", PASSWORD)
    item = next(item for item in reader_site.items["harbor"] if item["status"] == "published")
    blocked = storage.list_items(reader_site.db, status="blocked") or storage.list_items(reader_site.db)
    source = reader_site.sources["harbor"]["id"]
    return {
        "login": "/desk/login", "queue": "/desk/", "blocked": "/desk/?status=blocked",
        "item": f"/desk/items/{blocked[0]['id']}", "item-published": f"/desk/items/{item['id']}",
        "withdraw": f"/desk/items/{item['id']}/withdraw", "sources": "/desk/sources/",
        "source": f"/desk/sources/{source}", "source-new": "/desk/sources/new", "audit": "/desk/audit",
        "not-found": "/desk/items/999999",
    }


def logged_in_opener(site_url: str):
    """A urllib opener holding a desk session of the validator."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    form = opener.open(site_url + "/desk/login", timeout=30).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode({"name": "validator", "password": PASSWORD, "csrf_token": token}).encode()
    opener.open(site_url + "/desk/login", data=data, timeout=30).close()
    return opener


def fetch(opener, url: str) -> bytes:
    """A page's body, error pages included."""
    try:
        with opener.open(url, timeout=30) as response:
            return response.read()
    except urllib.error.HTTPError as error:
        return error.read()


@pytest.fixture(scope="module")
def desk_vnu_messages(reader_site, desk_paths, vnu_command, tmp_path_factory) -> dict[str, list[dict]]:
    """The checker's messages per desk page, from one run (the login page as a stranger sees it)."""
    directory = tmp_path_factory.mktemp("vnu-desk")
    opener = logged_in_opener(reader_site.url)
    files = {}
    for kind, path in desk_paths.items():
        files[kind] = directory / f"{kind}.html"
        body = fetch(urllib.request.build_opener() if kind == "login" else opener, reader_site.url + path)
        assert kind == "login" or b"Log in to the desk" not in body, f"{kind} was not seen logged in"
        files[kind].write_bytes(body)
    run = subprocess.run([*vnu_command, "--errors-only", "--format", "json", *map(str, files.values())],
                         capture_output=True, text=True, timeout=300)
    report = json.loads(run.stderr or run.stdout)
    by_kind = {kind: [] for kind in files}
    for message in report["messages"]:
        by_kind.setdefault(message.get("url", "").rsplit("/", 1)[-1].removesuffix(".html"), []).append(message)
    return by_kind


@pytest.mark.parametrize("kind", DESK_PAGES)
def test_desk_page_passes_the_nu_html_checker(desk_vnu_messages, kind):
    errors = [message for message in desk_vnu_messages[kind] if message.get("type") in ("error", "non-document-error")]
    assert not errors, f"{kind}: {len(errors)} errors\n  " + "\n  ".join(map(describe_vnu, errors))


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_desk_pages_have_no_serious_accessibility_violation(new_context, reader_site, desk_paths, axe_source,
                                                            color_scheme):
    context = new_context(reader_site.url, bypass_csp=True, color_scheme=color_scheme,
                          viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(reader_site.url + "/desk/login")
    page.get_by_label("Name").fill("validator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(reader_site.url + "/desk/")
    failures = []
    for kind, path in desk_paths.items():
        if kind == "login":
            continue
        violations = axe_violations(page, reader_site.url + path, axe_source)
        failures += [f"{kind}: " + describe_axe(v) for v in violations if v["impact"] in BLOCKING_IMPACTS]
    assert not failures, f"({color_scheme}):\n  " + "\n  ".join(failures)
