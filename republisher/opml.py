"""OPML 2.0 subscription lists: read the feeds a list names, and write sources as one. Plain values only."""

import re
from dataclasses import dataclass
from email.utils import format_datetime
from datetime import datetime
from xml.etree import ElementTree

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from .errors import OpmlError

MAX_OPML_BYTES = 5 * 1024 * 1024
MAX_SUBSCRIPTIONS = 10_000
MAX_FIELD_CHARS = 2_000
# characters XML 1.0 cannot hold at all, not even as references
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Subscription:
    """One feed a subscription list names."""

    feed_url: str
    name: str | None = None
    site_url: str | None = None


def read(body: bytes) -> list[Subscription]:
    """The feeds an OPML document subscribes to, in document order, each feed URL once."""
    if len(body) > MAX_OPML_BYTES:
        raise OpmlError(f"the subscription list is over {MAX_OPML_BYTES // (1024 * 1024)} MB")
    try:
        root = fromstring(body, forbid_dtd=True)
    except DefusedXmlException:
        raise OpmlError("the subscription list declares a DTD or entities, which are refused") from None
    except ElementTree.ParseError as exc:
        raise OpmlError(f"not an XML document: {exc}") from None
    if root.tag != "opml":
        raise OpmlError(f"not an OPML document: the root element is <{root.tag}>")
    found: dict[str, Subscription] = {}
    for outline in root.iter("outline"):
        subscription = subscription_of(outline)
        if subscription and subscription.feed_url not in found:
            found[subscription.feed_url] = subscription
            if len(found) > MAX_SUBSCRIPTIONS:
                raise OpmlError(f"the subscription list names over {MAX_SUBSCRIPTIONS} feeds")
    return list(found.values())


def subscription_of(outline) -> Subscription | None:
    """The feed an <outline> names, or None for a folder (attribute names as writers spell them)."""
    attributes = {key.lower(): value for key, value in outline.attrib.items()}
    feed_url = field(attributes.get("xmlurl"))
    if not feed_url:
        return None
    return Subscription(feed_url=feed_url, name=field(attributes.get("text") or attributes.get("title")),
                        site_url=field(attributes.get("htmlurl")))


def field(value: str | None) -> str | None:
    """An attribute's value trimmed and bounded, or None when empty."""
    value = " ".join((value or "").split())[:MAX_FIELD_CHARS]
    return value or None


def write(subscriptions: list[Subscription], title: str, created: datetime) -> bytes:
    """An OPML 2.0 document subscribing to each feed, with its name and site."""
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = xml_text(title)
    ElementTree.SubElement(head, "dateCreated").text = format_datetime(created)
    body = ElementTree.SubElement(root, "body")
    for subscription in subscriptions:
        attributes = {"type": "rss", "text": xml_text(subscription.name or subscription.feed_url),
                      "xmlUrl": xml_text(subscription.feed_url)}
        if subscription.name:
            attributes["title"] = xml_text(subscription.name)
        if subscription.site_url:
            attributes["htmlUrl"] = xml_text(subscription.site_url)
        ElementTree.SubElement(body, "outline", attributes)
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def xml_text(value: str) -> str:
    """A value XML can carry: the characters it cannot hold are left out."""
    return _NOT_XML.sub("", value)
