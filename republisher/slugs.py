"""URL slugs made from titles and names."""

import re
import unicodedata


def slugify(text: str, fallback: str = "item") -> str:
    """A lower-case slug of the words of a text; non-Latin letters are kept (browsers percent-encode them)."""
    normalized = unicodedata.normalize("NFKC", text or "").lower()
    words = re.findall(r"\w+", normalized)
    slug = "-".join(words)[:80].strip("-")
    return slug or fallback
