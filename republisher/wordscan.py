"""Every place a fixed set of literal words occurs in an ASCII text, found in one pass.

The license reader looks for some thirty words in every item's whole body; one ``str.find`` per word
costs about 0.75 ns a character each, which made the search most of what deciding a license costs.
Hyperscan (Intel's SIMD multi-pattern matcher, built for intrusion detection on hostile traffic) finds
them all in one pass at a fraction of that. Its wheels exist for x86-64 only: where it is missing or
refuses to start, ``WordScanner.occurrences`` returns None and the caller searches word by word, with
the same result (``tests/test_wordscan.py`` compares the two).
"""

import re
import threading

try:
    import hyperscan
except ImportError:  # no wheel for this platform
    hyperscan = None


class WordScanner:
    """A compiled set of words, scanned by one thread at a time."""

    def __init__(self, words: tuple[str, ...], word_starts=None, caseless: bool = False):
        """Compile lazily: the first ASCII body pays for it, an import never does.

        word_starts: a function giving more literals, of which only the first found at a word's start is
        reported, under index len(words): whether any of them starts a word in the text. caseless: the
        words are found in any case (they are written in lower case).
        """
        self.words = words
        self.word_starts = word_starts
        self.caseless = caseless
        self._database = None
        self._failed = hyperscan is None
        self._busy = threading.Lock()  # a database's scratch space serves one scan at a time

    def database(self):
        """The compiled database, or None when Hyperscan is unavailable here."""
        if self._database is None and not self._failed:
            with self._busy:
                if self._database is None and not self._failed:
                    self._database = compile_words(self.words, self.word_starts() if self.word_starts else (),
                                                   self.caseless)
                    self._failed = self._database is None
        return self._database

    def occurrences(self, text: str) -> list[tuple[int, int]] | None:
        """(word index, start) of every occurrence of every word in an ASCII text (in any case, for a
        caseless scanner), overlapping ones included, in no particular order; None when the text must
        be searched another way."""
        database = self._database or self.database()  # compiled once; the usual case needs no call
        if database is None or not text.isascii():
            return None  # byte offsets equal character offsets only in ASCII
        if not self._busy.acquire(blocking=False):
            return None  # another thread is scanning: this one searches word by word meanwhile
        try:
            found: list[tuple[int, int]] = []
            database.scan(text.encode("ascii"), match_event_handler=keep_occurrence, context=found)
            return found
        finally:
            self._busy.release()


def keep_occurrence(index: int, start: int, end: int, flags: int, found: list) -> None:
    """Hyperscan's match handler: note the word and where it starts (None lets the scan go on)."""
    found.append((index, start))


def compile_words(words: tuple[str, ...], word_starts: tuple[str, ...] = (), caseless: bool = False):
    """A block-mode database reporting each word's start (and the first word start of any of word_starts,
    as index len(words)), or None when Hyperscan cannot run here."""
    expressions = [re.escape(word).encode("ascii") for word in words]
    case = hyperscan.HS_FLAG_CASELESS if caseless else 0
    flags = [hyperscan.HS_FLAG_SOM_LEFTMOST | case] * len(words)
    starts = [re.escape(word).encode("ascii") for word in word_starts if word.isascii()]
    if starts:
        expressions.append(rb"\b(?:" + b"|".join(starts) + b")")
        flags.append(hyperscan.HS_FLAG_SINGLEMATCH | case)
    try:
        database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        database.compile(expressions=expressions, ids=list(range(len(expressions))), elements=len(expressions),
                         flags=flags)
    except hyperscan.error:  # e.g. a CPU without the instructions it needs
        return None
    return database
