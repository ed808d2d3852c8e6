"""Per-entry stages after parsing: identity, license decision, sanitizing, attribution (plain values)."""

import json
import html

from . import attribution, license_text, licenses, licensing, sanitizer
from .slugs import slugify


def process_entry(entry: dict, feed: dict, source: dict, policy: frozenset, seen_at: str,
                  override: dict | None = None, hold: str | None = None, editor_changes=()) -> dict:
    """Run license decision, sanitizer and attribution for one new or changed entry."""
    decision = decide(entry, feed, source, policy, seen_at, override, hold)
    return dict(render(entry, feed, source, decision, editor_changes), decision=decision)


def decide(entry: dict, feed: dict, source: dict, policy: frozenset, seen_at: str,
           override: dict | None = None, hold: str | None = None) -> dict:
    """The license decision for an entry, with the editor's source license, item override and license hold."""
    return licensing.decide_license(entry, feed, source_license=source_license(source), policy=policy,
                                    override=override, seen_at=seen_at, hold=hold)


def license_hold(source: dict, revision_id: int | None = None) -> str | None:
    """The hold a revision is decided under: the source's, for revisions received after it began.

    revision_id None stands for a revision being received now. Copies received before the hold keep
    the license they came with, which cannot be revoked for them.
    """
    if not source.get("license_hold"):
        return None
    if revision_id is not None and revision_id <= (source.get("license_hold_revision") or 0):
        return None
    return source["license_hold"]


def render(entry: dict, feed: dict, source: dict, decision: dict, editor_changes=()) -> dict:
    """Sanitized content and the structured credit for an entry under a given decision and editors' changes."""
    content_type = entry.get("content_type") or "text/html"
    raw_content = entry.get("content") or ""
    withheld: list[str] = []
    if "html" not in content_type:
        raw_content = plain_text_as_html(raw_content)
    else:
        raw_content, withheld = withhold(raw_content, decision, entry.get("link"))
    cleaned = sanitizer.sanitize_html(raw_content, entry.get("base") or feed.get("url"))
    credit = credit_for(entry, feed, source, decision, cleaned.html, cleaned.changes, [*withheld, *editor_changes])
    return {"content_html": cleaned.html, "changes": cleaned.changes, "attribution": credit}


def withhold(content: str, decision: dict, original_url: str | None) -> tuple[str, list[str]]:
    """The raw content without the images its decision refuses and the notices an editor overrode.

    Each refused image gives way to a link to the original; each cut is said in the changes notice.
    """
    edits, images, notices = [], {}, []
    for credit in decision.get("media") or ():
        if credit.get("allowed") or credit.get("body") != "content":
            continue
        for image in credit.get("images") or ():
            start, end = image["span"]
            if (start, end) not in images:  # an image two credits refuse is removed, and counted, once
                images[(start, end)] = media_reason(credit)
                edits.append((start, end, withheld_image_html(credit, original_url)))
    for finding in decision.get("contradicted") or ():
        if finding.get("block"):
            start, end = finding["block"]
            edits.append((start, end, ""))
            notices.append(finding.get("license") or "another license")
    kept, position, pieces = [], 0, []
    for start, end, replacement in sorted(edits):
        if start < position or end > len(content) or start >= end:
            continue  # inside a cut already made
        pieces += [content[position:start], replacement]
        position = end
        kept.append((start, end))
    pieces.append(content[position:])
    clauses = []
    by_reason: dict[str, set] = {}
    for span, reason in images.items():
        by_reason.setdefault(reason, set()).add(span)
    for reason, spans in by_reason.items():
        count = len(spans & set(kept))
        if count:
            clauses.append(f"{attribution.counted(count, 'image', 'images')} removed: "
                           f"{'its' if count == 1 else 'their'} {reason} "
                           f"{'does' if count == 1 else 'do'} not allow this use")
    if notices:
        clauses.append(notice_removed(notices, decision.get("license")))
    return "".join(pieces), clauses


def notice_removed(named: list[str], license_id: str | None) -> str:
    """The changes notice's words for the publisher's notices an editor's confirmed license replaced.

    The removed notice's license is not named again here: the page shows one license, and the editors'
    evidence keeps what the notice said.
    """
    count = len(named)
    return (f"the publisher's license {'notice' if count == 1 else 'notices'} removed, as the editors confirmed "
            f"{licensing.short_name(license_id, 'no license')} instead")


def media_reason(credit: dict) -> str:
    """What about a picture's credit refuses it: "license (CC BY-NC 2.0)", "credit (Getty Images)"."""
    kind = credit.get("kind")
    if kind == "license":
        return f"license ({licensing.short_name(credit.get('license'), 'no license')})"
    if kind == "unrecognized":
        return "license (not one the registry knows)"
    if kind == "third_party":
        return f"credit ({credit.get('party')})"
    if kind == "reserved":
        return "credit (all rights reserved)"
    return f"credit ({licensing.TERM_WORDS.get(credit.get('term'), 'restricted use')})"


def withheld_image_html(credit: dict, original_url: str | None) -> str:
    """What stands in for a refused image: a short note and a link to the original."""
    note = html.escape(f"Image not shown here: its {media_reason(credit)} does not allow this use.")
    if not original_url:
        return f" {note} "
    return f' {note} <a href="{html.escape(original_url)}">See it in the original</a>. '


def credit_for(entry: dict, feed: dict, source: dict, decision: dict, content_html: str, changes: dict,
               withheld: list[str] = ()) -> dict:
    """The structured credit for already sanitized content under a given decision."""
    earlier = attribution.earlier_modification_notice(entry.get("rights"), content_html)
    return build_credit(entry, feed, source, decision, changes, earlier, list(withheld))


def source_license(source: dict) -> dict | None:
    """The editor's license for a source, as the license stage expects it."""
    if not source.get("license"):
        return None
    return {"license": source["license"], "evidence": source.get("license_evidence") or "",
            "set_at": source.get("license_set_at")}


def plain_text_as_html(text: str) -> str:
    """Wrap a text/plain body in escaped paragraphs."""
    paragraphs = [part.strip() for part in text.split("\n\n") if part.strip()]
    return "".join(f"<p>{html.escape(part)}</p>" for part in paragraphs)


def build_credit(entry: dict, feed: dict, source: dict, decision: dict, changes: dict,
                 earlier_changes: str | None = None, editor_changes: list[str] = ()) -> dict:
    """The structured attribution for an entry."""
    license_info = licenses.get_license(decision.get("license")) if decision.get("license") else None
    publisher = source.get("credit_name") or decision.get("attribution_party") or feed.get("title") or source.get("name")
    notice = decision.get("rights")
    editor_changes = list(editor_changes)
    other = other_licenses(notice, decision.get("license")) if notice and decision.get("contradicted") else []
    if other:  # an editor confirmed that the publisher's own notice names the wrong license
        notice = None
        editor_changes.append(notice_removed(other, decision.get("license")))
    return attribution.build_attribution(
        title=entry.get("title") or "Untitled",
        original_url=entry.get("link"),
        creators=list(entry.get("authors") or []),
        publisher=publisher,
        source_name=source.get("name"),
        source_url=feed.get("link") or source.get("url"),
        copyright_notice=notice,
        license_notice=None,
        disclaimer=None,
        license_id=decision.get("license"),
        license_name=license_info["name"] if license_info else None,
        license_short_name=license_info["short_name"] if license_info else None,
        license_url=license_info["url"] if license_info else None,
        changes=changes,
        earlier_changes_notice=earlier_changes,
        editor_changes=editor_changes,
        remove_credit=bool(source.get("remove_credit")),
        attribution_required=bool(license_info.get("attribution", True)) if license_info else True,
    )


def other_licenses(text: str, license_id: str | None) -> list[str]:
    """The licenses a notice names other than license_id."""
    return [found for found in license_text.resolve_text(text) if found != license_id]


def item_fields(entry: dict, identity: str, digest: str, decision: dict) -> dict:
    """The item row's fields taken from the latest revision."""
    return {
        "identity": identity, "guid": entry.get("guid"), "url": entry.get("link"),
        "slug": slugify(entry.get("title") or "", "item"),
        "title": entry.get("title"), "authors": json.dumps(entry.get("authors") or [], ensure_ascii=False),
        "categories": json.dumps(entry.get("categories") or [], ensure_ascii=False),
        "enclosures": json.dumps(entry.get("enclosures") or []), "language": entry.get("language"),
        "published_at": entry.get("published") or entry.get("updated"), "updated_at": entry.get("updated"),
        "entry_hash": digest, "license": decision.get("license"),
        "license_evidence": json.dumps(decision.get("evidence")),
    }
