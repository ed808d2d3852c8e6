"""Sources in bulk: an OPML export imported into an empty database gives the same sources back."""

import json

import pytest

from republisher import create_app, opml, storage
from republisher.errors import OpmlError

SUBSCRIPTIONS = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>Reader export</title></head><body>
  <outline text="News">
    <outline type="rss" text="Harbor Wire" xmlUrl="http://127.0.0.1:9/harbor.xml" htmlUrl="https://harborwire.example/"/>
    <outline type="rss" title="Caf\xc3\xa9 &amp; Chronicle" xmlurl="http://127.0.0.1:9/cafe.xml"/>
  </outline>
  <outline type="rss" text="Harbor again" xmlUrl="http://127.0.0.1:9/harbor.xml"/>
  <outline type="rss" text="A file" xmlUrl="file:///etc/passwd"/>
  <outline text="Folder without a feed"/>
</body></opml>"""


def import_file(runner, tmp_path, body: bytes, *args):
    """Run `sources import` on a file holding `body`."""
    path = tmp_path / "subscriptions.opml"
    path.write_bytes(body)
    return runner.invoke(args=["sources", "import", str(path), *args])


def test_import_adds_each_feed_once_with_its_name_and_site_and_refuses_what_is_not_http(runner, db, tmp_path):
    result = import_file(runner, tmp_path, SUBSCRIPTIONS, "--json")
    assert result.exit_code == 0, result.output
    outcomes = {row["url"]: row for row in json.loads(result.stdout)}
    assert outcomes["file:///etc/passwd"]["outcome"] == "refused"
    assert [row["outcome"] for row in outcomes.values()].count("added") == 2
    sources = {source["url"]: source for source in storage.list_sources(db)}
    assert sources["http://127.0.0.1:9/harbor.xml"]["name"] == "Harbor Wire"
    assert sources["http://127.0.0.1:9/harbor.xml"]["site_url"] == "https://harborwire.example/"
    assert sources["http://127.0.0.1:9/cafe.xml"]["name"] == "Café & Chronicle"
    added = [row for row in storage.audit_entries(db) if row["action"] == "add-source"]
    assert len(added) == 2  # added through the same path as `sources add`, so audited like it
    again = import_file(runner, tmp_path, SUBSCRIPTIONS)
    assert again.exit_code == 0 and "2 duplicate" in again.output and len(storage.list_sources(db)) == 2


def test_import_refuses_private_addresses_when_the_guard_does(tmp_path):
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "guarded.sqlite"), "SECRET_KEY": "x"})
    result = import_file(app.test_cli_runner(), tmp_path, SUBSCRIPTIONS, "--json")
    assert result.exit_code == 0, result.output
    assert {row["outcome"] for row in json.loads(result.stdout)} == {"refused"}
    assert any("127.0.0.1" in row["reason"] for row in json.loads(result.stdout))
    db = storage.connect(str(tmp_path / "guarded.sqlite"))
    assert storage.list_sources(db) == []


def test_a_dry_run_adds_nothing(runner, db, tmp_path):
    result = import_file(runner, tmp_path, SUBSCRIPTIONS, "--dry-run")
    assert result.exit_code == 0 and "would add" in result.output
    assert storage.list_sources(db) == []


def test_export_then_import_into_an_empty_database_reproduces_the_sources(app, runner, db, tmp_path):
    for n, name in enumerate(["Harbor Wire", "Pars Ruz <News> & \"Agency\"", "خبرگزاری", "Tab\tand\x01control"]):
        source = storage.add_source(db, f"http://127.0.0.1:9/feed-{n}.xml?a=1&b=2", name=name)
        storage.update_source(db, source["id"], site_url=f"https://site-{n}.example/")
    exported = tmp_path / "sources.opml"
    result = runner.invoke(args=["sources", "export", str(exported)])
    assert result.exit_code == 0, result.output
    fresh = create_app({"TESTING": True, "DATABASE": str(tmp_path / "fresh.sqlite"), "SECRET_KEY": "x",
                        "ALLOW_PRIVATE_ADDRESSES": True})
    imported = fresh.test_cli_runner().invoke(args=["sources", "import", str(exported)])
    assert imported.exit_code == 0, imported.output
    fresh_db = storage.connect(str(tmp_path / "fresh.sqlite"))

    def described(database):
        return sorted((s["url"], s["name"], s["site_url"]) for s in storage.list_sources(database))

    expected = [(url, " ".join(name.replace("\x01", "").split()), site) for url, name, site in described(db)]
    assert described(fresh_db) == expected


@pytest.mark.parametrize("body, message", [
    (b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaa">]><opml><body><outline xmlUrl="&a;"/></body></opml>',
     "DTD or entities"),
    (b"<opml><body><outline", "not an XML document"),
    (b"<rss/>", "root element is <rss>"),
    (b"x" * (opml.MAX_OPML_BYTES + 1), "over 5 MB"),
])
def test_a_bad_subscription_list_is_refused_in_one_line(runner, tmp_path, body, message):
    with pytest.raises(OpmlError, match=message):
        opml.read(body)
    result = import_file(runner, tmp_path, body)
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
