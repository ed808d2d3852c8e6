"""Text as the license readers compare it: one spelling for every dash, space, lookalike letter and accent.

Publishers write "CC BY‑NC" with a non-breaking hyphen, "Non&shy;Commercial" with a soft hyphen,
"СС BY" with Cyrillic letters and "Atribución" with or without its accent. ``fold`` maps each of those
to one plain, lower-case spelling so that a single grammar reads them all, and ``Folded`` remembers
where each folded character came from, so that evidence is always quoted from the original text.
"""

import bisect
import functools
import hashlib
import re
import sys
import threading
import unicodedata
from collections import OrderedDict

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


TEXT_CACHES: list = []  # every TextCache made, so that all can be emptied at once


class TextCache:
    """What a function read from short texts, kept up to a number of bytes of those texts in all.

    Feeds repeat their rights lines and closing sentences item after item, so reading each once pays;
    a text longer than max_chars is read again every time instead of being kept, so that a feed of
    long texts cannot make the cache hold megabytes. When the texts kept pass max_bytes (as Python
    stores them), the least recently used go first. The texts are the keys, compared on every hit, so
    two texts never share an entry. Of texts longer than max_chars only the last one's result is
    kept, under a digest of the text rather than the text itself. A single text shorter than min_chars
    is read again every time: where such texts seldom repeat (an item's summary), keeping one costs
    about what reading it again does.
    """

    def __init__(self, function, max_chars: int, max_bytes: int, min_chars: int = 0):
        """Wrap a function whose arguments are texts and small values (numbers, flags, tuples of them)."""
        functools.update_wrapper(self, function)
        self.function, self.max_chars, self.max_bytes = function, max_chars, max_bytes
        self.min_chars = min_chars
        self.entries: OrderedDict = OrderedDict()  # arguments -> (result, bytes of their texts)
        self.held = 0
        self.last_long: tuple | None = None  # (digest of the last text too long to keep, its result)
        self.lock = threading.Lock()  # around stores and evictions; a lookup needs none
        TEXT_CACHES.append(self)

    def __call__(self, *args, **keywords):
        """The function's result, from the cache when these texts were read before."""
        key = args + tuple(keywords.items()) if keywords else args
        single = len(key) == 1 and type(key[0]) is str  # one text, the usual case: measured without a walk
        if single and len(key[0]) < self.min_chars:
            return self.function(*args)
        try:
            kept = self.entries.get(key)
        except TypeError:  # an argument that cannot be a key (a list): read it as it is
            return self.function(*args, **keywords)
        if kept is not None:
            try:
                self.entries.move_to_end(key)
            except KeyError:  # evicted by another thread in between
                pass
            return kept[0]
        if single:
            longest, size = len(key[0]), sys.getsizeof(key[0])
        else:
            longest, size = longest_text(key), text_bytes(key)
        if longest > self.max_chars:
            return self.long_text_result(key, args, keywords)
        value = self.function(*args, **keywords)
        if size <= self.max_bytes:
            self.store(key, value, size)
        return value

    def long_text_result(self, key: tuple, args: tuple, keywords: dict):
        """The result for a text too long to keep: remembered for that one text, by its digest alone,
        since the readers of one item ask about its long rights text several times in a row."""
        digest = digest_of(key)
        last = self.last_long
        if last is not None and last[0] == digest:
            return last[1]
        value = self.function(*args, **keywords)
        self.last_long = (digest, value)
        return value

    def store(self, key: tuple, value, size: int) -> None:
        """Keep a result, then forget the least recently used ones until the texts fit max_bytes."""
        with self.lock:
            if key in self.entries:
                return
            self.entries[key] = (value, size)
            self.held += size
            while self.held > self.max_bytes:
                _, (_, forgotten) = self.entries.popitem(last=False)
                self.held -= forgotten

    def cache_clear(self) -> None:
        """Forget every result."""
        with self.lock:
            self.entries.clear()
            self.held = 0
            self.last_long = None

    def cache_info(self) -> dict:
        """How many results are kept and how many bytes their texts take."""
        return {"entries": len(self.entries), "bytes": self.held}

    def cache_parameters(self) -> dict:
        """The bounds, named as functools' caches name theirs where they can."""
        return {"maxsize": None, "max_chars": self.max_chars, "max_bytes": self.max_bytes,
                "min_chars": self.min_chars}


def forget_read_texts() -> None:
    """Empty every TextCache (a benchmark's cold start, or a test that measures what reading costs)."""
    for cache in TEXT_CACHES:
        cache.cache_clear()


def text_cache(max_chars: int, max_bytes: int = 1 << 20, min_chars: int = 0):
    """Decorate a function with a TextCache (by default up to 1 MiB of texts)."""
    return lambda function: TextCache(function, max_chars, max_bytes, min_chars)


def digest_of(key: tuple) -> bytes:
    """A digest of some arguments that tells texts apart (their lengths too) without copying them twice."""
    digest = hashlib.blake2b(digest_size=32)
    for part in key:
        if isinstance(part, str):
            digest.update(b"%d:" % len(part))
            digest.update(part.encode("utf-8", "surrogatepass"))
        elif isinstance(part, tuple):
            digest.update(b"(" + digest_of(part) + b")")
        else:
            digest.update(repr(part).encode("utf-8", "surrogatepass"))
        digest.update(b"|")
    return digest.digest()


def text_bytes(value) -> int:
    """The bytes Python takes for the texts among some arguments (inside tuples too)."""
    if isinstance(value, str):
        return sys.getsizeof(value)
    if isinstance(value, tuple):
        return sum(text_bytes(part) for part in value)
    return 0


def longest_text(value) -> int:
    """The length of the longest text among some arguments (inside tuples too)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, tuple):
        return max((longest_text(part) for part in value), default=0)
    return 0
