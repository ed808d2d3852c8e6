"""Card excerpts on the home, source and search pages: the story's opening words, without the address of
a removed frame and without the publisher's license sentence (the article page carries the credit)."""

import time

import html5lib
import pytest

from republisher import create_app, feeds, storage, workflow

from helpers import refresh

FRAME = "https://video.example/embed/council-meeting"
# each story closes with its publisher's license sentence, worded the ways publishers word it
STORIES = {
    "Council votes to repair the north pier": "This article is licensed under CC BY 4.0",
    "Ferry timetable changes for the winter": ("All content by Tide Times is licensed under a Creative Commons "
                                               "Attribution 4.0 International License."),
    "Harbour school opens a sailing club": "Published under CC BY 4.0",
}


def story(title: str, closing: str, number: int) -> str:
    """One RSS item whose body holds a video frame between its paragraphs and ends with its license."""
    body = (f"<p>{title} after a meeting on Tuesday evening.</p>"
            f'<iframe src="{FRAME}" width="560" height="315"></iframe>'
            f"<p>Residents asked questions for an hour.</p><p>{closing}</p>")
    escaped = body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (f"<item><title>{title}</title><link>https://tidetimes.example/{number}</link>"
            f"<guid>tide-{number}</guid><description>{escaped}</description></item>")


def tide_times() -> bytes:
    """An RSS feed under CC BY 4.0 whose stories embed a video and close with a license sentence."""
    items = "".join(story(title, closing, number) for number, (title, closing) in enumerate(STORIES.items(), 1))
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            'xmlns:creativeCommons="http://backend.userland.com/creativeCommonsRssModule"><channel>'
            "<title>Tide Times</title><link>https://tidetimes.example/</link><description>Harbour news</description>"
            "<creativeCommons:license>https://creativecommons.org/licenses/by/4.0/</creativeCommons:license>"
            f"{items}</channel></rss>").encode()


def publish_tide_times(app, db, httpserver) -> dict:
    """Serve Tide Times on 127.0.0.1, fetch it and publish every story; returns the source."""
    httpserver.expect_request("/tide").respond_with_data(tide_times(), content_type="application/rss+xml")
    source = storage.add_source(db, httpserver.url_for("/tide"))
    assert refresh(app, db, source["id"]).outcome == "ok"
    for item in storage.list_items(db, source_id=source["id"]):
        workflow.approve(db, item["id"])
    assert len(storage.list_items(db, source_id=source["id"], status="published")) == len(STORIES)
    return storage.get_source(db, source["id"])


def card_excerpts(client, path: str) -> dict[str, str]:
    """The excerpt under each card's title on a page, by title."""
    tree = html5lib.parse(client.get(path).data, namespaceHTMLElements=False)
    excerpts = {}
    for card in tree.iter("article"):
        if "card" not in (card.get("class") or "").split():
            continue
        title = " ".join("".join(card.find("h2").itertext()).split())
        paragraphs = [p for p in card.iter("p") if "card-excerpt" in (p.get("class") or "").split()]
        excerpts[title] = " ".join("".join(paragraphs[0].itertext()).split()) if paragraphs else ""
    return excerpts


def assert_clean(excerpts: dict[str, str]) -> None:
    """Every story's card opens with its first words and names neither the frame nor the license."""
    assert set(excerpts) == set(STORIES)
    for title, excerpt in excerpts.items():
        assert excerpt == f"{title} after a meeting on Tuesday evening. Residents asked questions for an hour."
        assert "video.example" not in excerpt and "CC BY" not in excerpt and "Creative Commons" not in excerpt


def test_cards_show_neither_the_removed_frame_nor_the_license_sentence(app, db, httpserver):
    source = publish_tide_times(app, db, httpserver)
    client = app.test_client()
    assert_clean(card_excerpts(client, "/"))
    assert_clean(card_excerpts(client, f"/sources/{source['slug']}"))
    assert_clean(card_excerpts(client, "/search?q=residents"))
    # the article itself still links to the frame's target and credits the license
    article = storage.list_items(db, source_id=source["id"])[0]
    page = client.get(f"/articles/{article['id']}", follow_redirects=True).data.decode()
    assert FRAME in page and 'rel="license" href="https://creativecommons.org/licenses/by/4.0/"' in page


def test_the_search_index_keeps_the_whole_text():
    text, excerpt = feeds.text_and_excerpt(
        f'<p>Opening words.</p><p><a href="{FRAME}">{FRAME}</a></p><p>Published under CC BY-SA</p>')
    assert text == f"Opening words. {FRAME} Published under CC BY-SA"
    assert excerpt == "Opening words."


@pytest.mark.parametrize("fragment, expected", [
    # prose that names a license without granting one is the story, not its notice
    ("<p>The city adopted CC BY 4.0 for its open data, officials said on Monday.</p>",
     "The city adopted CC BY 4.0 for its open data, officials said on Monday."),
    ("<p>Creative Commons, the nonprofit, named a new director.</p>",
     "Creative Commons, the nonprofit, named a new director."),
    # a link whose words differ from its address is text a reader wrote
    (f'<p>Watch <a href="{FRAME}">the meeting</a> online.</p>', "Watch the meeting online."),
    # a license line is left out wherever it stands, with or without a full stop
    ("<p>Photo: CC BY-SA 2.0</p><p>The tide came in early.</p>", "The tide came in early."),
    ("<p>The tide came in early. Licensed under CC BY 4.0. Boats waited offshore.</p>",
     "The tide came in early. Boats waited offshore."),
])
def test_excerpts_keep_the_story_and_leave_out_license_lines(fragment, expected):
    assert feeds.text_and_excerpt(fragment)[1] == expected


def test_a_long_story_is_cut_after_its_license_lines_are_left_out():
    sentence = "The harbour master counted the boats again. "
    _, excerpt = feeds.text_and_excerpt("<p>This story is published under CC BY 4.0.</p><p>" + sentence * 20 + "</p>")
    assert excerpt.startswith(sentence) and excerpt.endswith("\u2026") and len(excerpt) <= feeds.EXCERPT_LIMIT + 1


def test_a_body_of_license_lines_costs_a_bounded_reading():
    lines = " ".join(f"Licensed under CC BY 4.0, part {number}." for number in range(30000))
    started = time.monotonic()
    text, excerpt = feeds.text_and_excerpt(f"<p>{lines}</p><p>The story itself.</p>")
    assert time.monotonic() - started < 3
    assert excerpt == "" and text.endswith("The story itself.")


def test_migration_renews_excerpts_made_before(tmp_path, httpserver):
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "old.sqlite"), "ALLOW_PRIVATE_ADDRESSES": True,
                      "SITE_URL": "http://mirror.test", "SECRET_KEY": "test-secret"})
    db = storage.connect(app.config["DATABASE"])
    storage.migrate(db)
    publish_tide_times(app, db, httpserver)

    def earlier_extract(fragment):
        """Text and excerpt as they were made before cards left anything out."""
        text = feeds.plain_text(fragment)
        return text, feeds.excerpt(text)

    # as a database made before the migration holds it: the later migrations add columns only
    db.execute("DELETE FROM _sqlite_migrations WHERE name = '0006_card_excerpts'")
    assert storage.migrate(db) == ["0006_card_excerpts"]  # queues every published item again
    while storage.public_index_sync(db, earlier_extract):
        pass
    assert all(FRAME in row["excerpt"] for row in storage.public_items(db))
    db.execute("DELETE FROM _sqlite_migrations WHERE name = '0006_card_excerpts'")
    assert "applied 0006_card_excerpts" in app.test_cli_runner().invoke(args=["init"]).output
    assert_clean(card_excerpts(app.test_client(), "/"))
    db.conn.close()
