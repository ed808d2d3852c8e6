"""Text as the license readers compare it: one spelling for every dash, space, lookalike letter and accent.

Publishers write "CC BY‑NC" with a non-breaking hyphen, "Non&shy;Commercial" with a soft hyphen,
"СС BY" with Cyrillic letters and "Atribución" with or without its accent. ``fold`` maps each of those
to one plain, lower-case spelling so that a single grammar reads them all, and ``Folded`` remembers
where each folded character came from, so that evidence is always quoted from the original text.
"""

import bisect
import re
import unicodedata

DASHES = ("\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d\u02d7\u058a"
          "\u05be\u1806\u2e17\u30a0")
SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
APOSTROPHES = "\u2018\u2019\u201a\u201b\u2032\u02bc\u02bb\u00b4\uff07"
QUOTES = "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033\uff02"
# invisible characters that split a word without showing anything: deleted before reading
INVISIBLE = ("\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b"
             "\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff")
# letters of other scripts that look like Latin ones (an "СС BY" written in Cyrillic reads as "CC BY")
LOOKALIKES = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "ү": "y", "һ": "h", "ӏ": "l", "ɡ": "g",
    "А": "a", "В": "b", "Е": "e", "Ё": "e", "К": "k", "М": "m", "Н": "h", "О": "o", "Р": "p", "С": "c",
    "Т": "t", "У": "y", "Х": "x", "Ѕ": "s", "І": "i", "Ї": "i", "Ј": "j", "Ԁ": "d", "Ԛ": "q", "Ԝ": "w",
    "Ү": "y", "Һ": "h", "Ӏ": "l",
    # Greek
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x", "ϲ": "c", "ϳ": "j",
    "Α": "a", "Β": "b", "Ε": "e", "Ζ": "z", "Η": "h", "Ι": "i", "Κ": "k", "Μ": "m", "Ν": "n", "Ο": "o",
    "Ρ": "p", "Τ": "t", "Υ": "y", "Χ": "x", "Ϲ": "c",
    # Arabic letters Persian writes differently: one spelling for both
    "\u064a": "\u06cc", "\u0649": "\u06cc", "\u0643": "\u06a9",
}


# small capitals have no decomposition of their own ("CC BY-ɴᴄ")
SMALL_CAPITALS = dict(zip("ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘǫʀꜱᴛᴜᴠᴡʏᴢ", "abcdefghijklmnopqrstuvwyz"))
# styled letters and digits that NFKC folds to plain ones: letterlike symbols, enclosed alphanumerics,
# mathematical alphanumerics
STYLED_LETTERS = ((0x2100, 0x2150), (0x2460, 0x24EA), (0x1D400, 0x1D800))


def build_table() -> dict[int, str | None]:
    """The translation table behind fold: one-to-one mappings, and deletions of invisible characters."""
    table: dict[int, str | None] = {}
    for char in DASHES:
        table[ord(char)] = "-"
    for char in SPACES:
        table[ord(char)] = " "
    for char in APOSTROPHES:
        table[ord(char)] = "'"
    for char in QUOTES:
        table[ord(char)] = '"'
    for char in INVISIBLE:
        table[ord(char)] = None
    for code in range(0xFF01, 0xFF5F):  # full-width ASCII
        table[code] = chr(code - 0xFEE0).lower()
    for code in range(0x00C0, 0x0250):  # accented Latin letters lose their accents
        base = unicodedata.normalize("NFD", chr(code))
        if len(base) > 1 and base[0].isascii() and all(unicodedata.combining(mark) for mark in base[1:]):
            table[code] = base[0].lower()
    for char, latin in LOOKALIKES.items():
        table[ord(char)] = latin
    for char, latin in SMALL_CAPITALS.items():
        table[ord(char)] = latin
    for start, end in STYLED_LETTERS:  # 𝐍𝐂, ℕℂ, ①: the letter or digit they are styled from
        for code in range(start, end):
            plain = unicodedata.normalize("NFKC", chr(code))
            if len(plain) == 1 and plain.isascii() and plain.isalnum():
                table[code] = plain.lower()
    return table


TABLE = build_table()
_INVISIBLE_RE = re.compile("[" + INVISIBLE + "]")


def fold(text: str) -> str:
    """The folded spelling of text (lower case, plain dashes and spaces, no accents or invisible characters)."""
    if text.isascii():
        return text.lower()
    return same_length_lower(text.translate(TABLE))


def without_invisible(text: str) -> str:
    """The text with its invisible characters (soft hyphens, zero-width spaces, joiners) left out."""
    return _INVISIBLE_RE.sub("", text)


def fold_pattern(pattern: str) -> str:
    """A regular expression written in lower case, with its literal letters folded like the text it reads."""
    return pattern if pattern.isascii() else pattern.translate(TABLE)


def same_length_lower(text: str) -> str:
    """text.lower() with the same length, so that offsets stay valid."""
    lowered = text.lower()
    if len(lowered) != len(text):  # e.g. "İ" lower-cases to two code points
        lowered = "".join(char if len(char.lower()) != 1 else char.lower() for char in text)
    return lowered


class Folded:
    """A text and its folded spelling, with a map from folded offsets back to the original's."""

    __slots__ = ("original", "text", "same", "_removed")

    def __init__(self, original: str):
        """Fold once; the offset map is made only if some characters were deleted and it is asked for."""
        self.original = original
        self.text = fold(original)
        self.same = len(self.text) == len(original)  # no character was deleted: offsets are shared
        self._removed: list[int] | None = None

    def position(self, index: int) -> int:
        """The original offset of the folded character at index."""
        if self.same:
            return index
        if self._removed is None:
            # the folded offset at which each deleted character would have stood
            self._removed = [match.start() - number
                             for number, match in enumerate(_INVISIBLE_RE.finditer(self.original))]
        return index + bisect.bisect_right(self._removed, index)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original offsets of the folded span [start, end)."""
        if self.same:
            return start, end
        if start >= end:
            point = self.position(start) if start < len(self.text) else len(self.original)
            return point, point
        return self.position(start), self.position(end - 1) + 1

    def slice(self, start: int, end: int) -> str:
        """The original text behind the folded span [start, end)."""
        if self.same:
            return self.original[start:end]
        first, last = self.span(start, end)
        return self.original[first:last]
