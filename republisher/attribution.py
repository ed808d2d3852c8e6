"""Attribution stage: the structured credit a license asks for (CC BY 4.0 §3(a)), as plain values.

The dict built here is stored with the item and rendered by the `_attribution.html` partial, by
`plain_credit` for text-only contexts, and by `json_ld` for machines. Its wording never implies
endorsement by the publisher (CC BY 4.0 §2(a)(6)): "by", "Originally published by", nothing more.
"""

import html
import re
from urllib.parse import urlsplit

from .text import sentence_around

BASE_NOTICE = "HTML reformatted for this site"
# Sanitizer change counts named in the notice, in this order, as (key, singular, plural).
REMOVALS = (
    ("scripts", "script", "scripts"),
    ("styles", "style sheet", "style sheets"),
    ("inline_styles", "inline style", "inline styles"),
    ("frames", "embedded frame", "embedded frames"),
    ("media", "embedded media player", "embedded media players"),
    ("objects", "embedded object", "embedded objects"),
    ("forms", "form element", "form elements"),
    ("svg", "SVG graphic", "SVG graphics"),
    ("math", "MathML formula", "MathML formulas"),
    ("noscript", "no-script fallback", "no-script fallbacks"),
    ("images", "image", "images"),
    ("tracking_pixels", "tracking pixel", "tracking pixels"),
    ("links_removed", "link", "links"),  # unsafe or unresolvable; the link text stays
    ("nesting", "over-nested tag", "over-nested tags"),
    ("misplaced", "text misplaced in a table", "texts misplaced in tables"),
)
# Counted but part of reformatting: the link still leads to the same place.
NOT_NOTICED = frozenset(("links_rewritten",))
OTHER_CHANGES = {"truncated": "overlong text truncated"}
LICENSED_LABEL = "Licensed under"
UNREQUIRED_LABEL = "Rights:"
COURTESY_NOTICE = "These terms do not require credit; it is given here as a courtesy."
CREDIT_REMOVED_NOTICE = ("At the licensor's request, the creators, the publisher and the link to "
                         "the original are not credited here.")


def build_attribution(*, title, original_url, creators: list[str], publisher: str, source_name,
                      source_url, copyright_notice: str | None, license_notice: str | None,
                      disclaimer: str | None, license_id: str | None, license_name: str | None,
                      license_url: str | None, changes: dict[str, int], license_short_name: str | None = None,
                      earlier_changes_notice: str | None = None, editor_changes: list[str] = (),
                      remove_credit: bool = False, attribution_required: bool = True) -> dict:
    """The attribution of one item as a JSON-serializable dict."""
    original_url = http_url(original_url)
    publisher = trimmed(publisher) or trimmed(source_name)
    credited = not remove_credit
    return {
        "title": trimmed(title) or (original_url if credited else None) or "Untitled",
        "original_url": original_url if credited else None,
        "creators": names(creators) if credited else [],
        "publisher": publisher if credited else None,
        "publisher_url": http_url(source_url) if credited and publisher else None,
        "copyright_notice": trimmed(copyright_notice) if credited else None,
        "license_notice": trimmed(license_notice),
        "disclaimer": trimmed(disclaimer),
        "license": {"id": trimmed(license_id), "name": trimmed(license_name) or trimmed(license_id),
                    "short_name": trimmed(license_short_name), "url": http_url(license_url)},
        "license_label": LICENSED_LABEL if attribution_required else UNREQUIRED_LABEL,
        "courtesy_notice": None if attribution_required else COURTESY_NOTICE,
        "credit_removed_notice": None if credited else CREDIT_REMOVED_NOTICE,
        "changes_notice": changes_notice(changes, editor_changes, earlier_changes_notice),
        "attribution_required": bool(attribution_required),
        "credit_removed": not credited,
    }


def changes_notice(changes: dict[str, int], editor_changes=(), earlier: str | None = None) -> str:
    """A notice that says exactly what was changed, keeping the source's earlier notice."""
    changes = {key: count for key, count in (changes or {}).items() if count and count > 0}
    removed = [counted(changes.pop(key), singular, plural)
               for key, singular, plural in REMOVALS if key in changes]
    other = [OTHER_CHANGES[key] for key in OTHER_CHANGES if changes.pop(key, 0)]
    removed += [f"{key.replace('_', ' ')} ({count:,})" for key, count in sorted(changes.items())
                if key not in NOT_NOTICED]
    clauses = [BASE_NOTICE]
    if removed:
        clauses.append(f"{and_list(removed)} removed")
    clauses += other + [item for item in map(trimmed, editor_changes or ()) if item]
    notice = "Changes: " + "; ".join(clauses) + "."
    earlier = trimmed(earlier)
    return f"{notice} Earlier changes: {earlier}" if earlier else notice


MODIFICATION_WORDS = re.compile(
    r"\b(?:(?:adapted|modified|translated|abridged|condensed|excerpted)\s+(?:from|by)\b"
    r"|(?:is|was|has been)\s+(?:adapted|modified|translated|abridged|condensed|excerpted)\b"
    r"|Changes:)", re.IGNORECASE)
TAG = re.compile(r"<[^<>]*>")  # no "<" inside: linear on a run of "<"


def earlier_modification_notice(*texts: str | None) -> str | None:
    """The source's own statement that its work was modified from another (kept by CC BY 4.0 3(a)(1)(B)).

    Texts may be sanitized HTML; tags are dropped only to read the words.
    """
    for text in texts:
        plain = html.unescape(TAG.sub(" ", text or ""))
        match = MODIFICATION_WORDS.search(plain)
        if match:
            return trimmed(sentence_around(plain, match.start(), match.end()))
    return None


def missing_parts(attribution: dict) -> list[str]:
    """What a stored credit lacks of what CC BY 4.0 3(a) asks for (empty when complete)."""
    license_ = attribution.get("license") or {}
    missing = [name for name, value in (("title", attribution.get("title")), ("license name", license_.get("name")),
                                        ("license link", license_.get("url")),
                                        ("changes notice", attribution.get("changes_notice"))) if not value]
    if attribution.get("attribution_required", True) and not attribution.get("credit_removed"):
        if not attribution.get("original_url"):
            missing.append("link to the original")
        if not (attribution.get("creators") or attribution.get("publisher")):
            missing.append("creator or publisher")
    return missing


def plain_credit(attribution: dict) -> str:
    """The same credit as one paragraph of plain text, for contexts without HTML."""
    field = attribution.get
    work = f"\u201c{field('title') or 'Untitled'}\u201d"
    if field("creators"):
        work += " by " + and_list(field("creators"))
    if field("publisher"):
        work += ", originally published by " + field("publisher")
    if field("original_url"):
        work += f" ({field('original_url')})"
    parts = [work + "."]
    if field("credit_removed_notice"):
        parts.append(field("credit_removed_notice"))
    parts += [sentence(field(key)) for key in ("copyright_notice", "license_notice", "disclaimer")
              if field(key)]
    license_ = field("license") or {}
    if license_.get("name"):
        named = license_name_text(license_)
        link = f" ({license_['url']})" if license_.get("url") else ""
        parts.append(f"{field('license_label') or LICENSED_LABEL} {named}{link}.")
    if field("courtesy_notice"):
        parts.append(field("courtesy_notice"))
    if field("changes_notice"):
        parts.append(field("changes_notice"))
    return " ".join(parts)


def license_name_text(license_: dict) -> str:
    """The license as the credit names it: "CC BY 2.0 France (Creative Commons Attribution 2.0 France)"."""
    short, name = license_.get("short_name"), license_.get("name")
    return f"{short} ({name})" if short and name and short != name else (short or name or "")


def json_ld(attribution: dict, *, page_url: str, published: str | None, site_name: str) -> dict:
    """A schema.org Article for the republished page (escape it for <script>, e.g. |tojson)."""
    field = attribution.get
    data = {"@context": "https://schema.org", "@type": "Article",
            "headline": field("title") or "Untitled", "url": page_url,
            "mainEntityOfPage": page_url, "publisher": {"@type": "Organization", "name": site_name}}
    if published:
        data["datePublished"] = published
    if (field("license") or {}).get("url"):
        data["license"] = field("license")["url"]
    authors = [{"@type": "Person", "name": name} for name in field("creators") or ()]
    original_publisher = None
    if field("publisher"):
        original_publisher = {"@type": "Organization", "name": field("publisher")}
        if field("publisher_url"):
            original_publisher["url"] = field("publisher_url")
    if authors or original_publisher:
        data["author"] = authors or [original_publisher]
    if field("original_url") or original_publisher:
        based_on = {"@type": "CreativeWork", "name": data["headline"]}
        if field("original_url"):
            based_on["url"] = field("original_url")
        if original_publisher:
            based_on["publisher"] = original_publisher
        data["isBasedOn"] = based_on
    if field("copyright_notice"):
        data["copyrightNotice"] = field("copyright_notice")
    data["creditText"] = plain_credit(attribution)
    return data


def counted(count: int, singular: str, plural: str) -> str:
    """A count and its noun: "1 script", "2 scripts"."""
    return f"{count:,} {singular if count == 1 else plural}"


def and_list(items: list[str]) -> str:
    """Items joined as "a", "a and b", "a, b and c"."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def sentence(notice: str) -> str:
    """A verbatim notice, followed by a full stop when it ends without one, to stand alone."""
    return notice if notice.endswith((".", "!", "?", "\u3002", "\u06d4")) else notice + "."


def names(values) -> list[str]:
    """Creator names as given, trimmed, without blanks or repeats."""
    found = []
    for name in map(trimmed, values or ()):
        if name and name not in found:
            found.append(name)
    return found


def trimmed(value) -> str | None:
    """A trimmed string, or None when there is nothing in it."""
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def http_url(value) -> str | None:
    """The value if it is an absolute http(s) URL (never a javascript: link), else None."""
    value = trimmed(value)
    if not value:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    ok = parts.scheme in ("http", "https") and parts.netloc and value.isprintable() \
        and " " not in value
    return value if ok else None
