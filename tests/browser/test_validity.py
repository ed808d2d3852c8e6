"""Pages pass the Nu HTML Checker (vnu.jar) without errors, and axe-core finds no serious accessibility issue.

Both tools come from tests/tools (`npm ci --prefix tests/tools --ignore-scripts`); Java runs the checker.
"""

import json
import subprocess
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest

# the pages a reader meets; the acceptance minimum is the home page and an article
PAGES = ("home", "older", "article", "article-rtl", "search", "source", "sources", "licenses", "not-found")
AXE_DARK = ("home", "article", "article-rtl")
BLOCKING_IMPACTS = ("serious", "critical")


@pytest.fixture(scope="module")
def paths(reader_site) -> dict[str, str]:
    """Path of each page kind on the reader site."""
    ferry = next(item for item in reader_site.items["harbor"] if item["status"] == "published")
    pars = next(item for item in reader_site.items["pars"] if item["status"] == "published")
    home = reader_site.get("/").decode("utf-8")
    older = home.split('rel="next" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    return {
        "home": "/", "older": older,
        "article": f"/articles/{ferry['id']}", "article-rtl": f"/articles/{pars['id']}",
        "search": "/search?q=harbour", "source": f"/sources/{reader_site.sources['harbor']['slug']}",
        "sources": "/sources/", "licenses": "/licenses", "not-found": "/articles/999999/missing",
    }


def fetch(url: str) -> bytes:
    """The body of a page after redirects; an error page is a page too."""
    try:
        with urlopen(url, timeout=30) as response:
            return response.read()
    except HTTPError as error:
        return error.read()


# ---------------------------------------------------------------- Nu HTML Checker


@pytest.fixture(scope="module")
def vnu_messages(reader_site, paths, vnu_command, tmp_path_factory) -> dict[str, list[dict]]:
    """The checker's messages per page kind, from one run over every page (one JVM start)."""
    directory = tmp_path_factory.mktemp("vnu")
    files = {}
    for kind, path in paths.items():
        files[kind] = directory / f"{kind}.html"
        files[kind].write_bytes(fetch(reader_site.url + path))
    run = subprocess.run([*vnu_command, "--errors-only", "--format", "json", *map(str, files.values())],
                         capture_output=True, text=True, timeout=300)
    # the checker writes its JSON report to stderr and exits 1 when it found errors
    report = json.loads(run.stderr or run.stdout)
    by_kind = {kind: [] for kind in files}
    for message in report["messages"]:
        # the checker names files as file:/dir/name.html; the name is the page kind
        kind = message.get("url", "").rsplit("/", 1)[-1].removesuffix(".html")
        by_kind.setdefault(kind, []).append(message)
    assert set(by_kind) == set(files), f"messages about other files: {set(by_kind) - set(files)}"
    return by_kind


def describe_vnu(message: dict) -> str:
    """One checker message on one line."""
    return f"line {message.get('lastLine')}: {message.get('message')} [{message.get('extract', '').strip()}]"


@pytest.mark.parametrize("kind", PAGES)
def test_page_passes_the_nu_html_checker(vnu_messages, kind):
    errors = [message for message in vnu_messages[kind] if message.get("type") in ("error", "non-document-error")]
    assert not errors, f"{kind}: {len(errors)} errors\n  " + "\n  ".join(map(describe_vnu, errors))


# ---------------------------------------------------------------- axe-core


def axe_violations(page, url: str, axe_source: str) -> list[dict]:
    """axe-core's violations on a page, with the first few nodes of each."""
    page.goto(url)
    page.evaluate(axe_source)
    return page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + (n.failureSummary || ""))}));
    }""")


def describe_axe(violation: dict) -> str:
    """One violation with the first nodes it concerns."""
    nodes = "\n      ".join(violation["nodes"])
    return f"{violation['impact']} {violation['id']}: {violation['help']}\n      {nodes}"


@pytest.mark.parametrize("kind, color_scheme",
                         [(kind, "light") for kind in PAGES] + [(kind, "dark") for kind in AXE_DARK])
def test_page_has_no_serious_accessibility_violation(new_context, reader_site, paths, axe_source,
                                                     kind, color_scheme):
    # the site's CSP forbids every script, axe included, so this context bypasses it
    context = new_context(reader_site.url, bypass_csp=True, color_scheme=color_scheme,
                          viewport={"width": 1280, "height": 900})
    violations = axe_violations(context.new_page(), reader_site.url + paths[kind], axe_source)
    blocking = [violation for violation in violations if violation["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"{kind} ({color_scheme}):\n  " + "\n  ".join(map(describe_axe, blocking))
