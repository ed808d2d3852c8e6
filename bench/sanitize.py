"""Benchmark: articles/second through sanitize_html vs bleach with the same allowlist vs nh3.

Run from the repository root: python bench/sanitize.py [--articles N] [--repeat R]
Goal: sanitize_html within 1.2x of bleach.clean with the same allowlist (and of a Cleaner that is
built once and reused, the stricter baseline).
"""

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bleach  # noqa: E402
import nh3  # noqa: E402

from republisher import sanitizer  # noqa: E402

WORDS = ("the agency reported that officials in the province said on Tuesday new figures show "
         "rainfall was lower than expected this year while farmers asked for support and "
         "the ministry announced a plan to repair irrigation canals before the summer").split()
BASE_URL = "https://news.example.org/en/news/2024/05/article"


def sentence(rng: random.Random) -> str:
    """A sentence of plain words with some inline markup and links."""
    words = rng.choices(WORDS, k=rng.randint(12, 24))
    pick = rng.randrange(len(words))
    roll = rng.random()
    if roll < 0.25:
        words[pick] = f'<a href="/en/news/{rng.randint(1000, 9999)}/story">{words[pick]}</a>'
    elif roll < 0.4:
        words[pick] = f'<a href="https://other.example.com/p?id={rng.randint(1, 99)}&amp;ref=feed">{words[pick]}</a>'
    elif roll < 0.55:
        words[pick] = f"<strong>{words[pick]}</strong>"
    elif roll < 0.65:
        words[pick] = f'<em style="color:#333">{words[pick]}</em>'
    return " ".join(words).capitalize() + "."


def article(rng: random.Random) -> str:
    """A realistic ~5 KB news article as a feed would carry it."""
    parts = ['<div class="article-body">']
    while sum(map(len, parts)) < 4300:
        roll = rng.random()
        if roll < 0.1:
            parts.append(f'<figure><img src="/images/{rng.randint(1, 999)}.jpg" alt="photo" '
                         f'width="800" height="533"><figcaption>{sentence(rng)}</figcaption></figure>')
        elif roll < 0.15:
            parts.append(f"<blockquote><p>{sentence(rng)}</p></blockquote>")
        elif roll < 0.2:
            items = "".join(f"<li>{sentence(rng)}</li>" for _ in range(3))
            parts.append(f"<ul>{items}</ul>")
        elif roll < 0.23:
            parts.append(f"<h2>{sentence(rng)[:40]}</h2>")
        else:
            parts.append(f'<p dir="ltr">{sentence(rng)} {sentence(rng)}</p>')
    parts.insert(len(parts) // 2, '<p><iframe src="https://www.youtube.com/embed/abc123" '
                                  'width="560" height="315" allowfullscreen></iframe></p>')
    parts.append('<script>window.analytics && analytics.track("view");</script>')
    parts.append('<img src="https://feeds.feedburner.com/~r/example/~4/xyz" height="1" width="1">')
    parts.append("</div>")
    return "\n".join(parts)


def bleach_cleaner():
    """One bleach Cleaner with the sanitizer's allowlist, reused across calls."""
    return bleach.sanitizer.Cleaner(tags=sanitizer.ALLOWED_TAGS,
                                    attributes=sanitizer.ALLOWED_ATTRIBUTES,
                                    protocols=sanitizer.ALLOWED_PROTOCOLS, strip=True)


def bleach_clean(html: str) -> str:
    """bleach.clean as usually called (it builds a Cleaner on every call)."""
    return bleach.clean(html, tags=sanitizer.ALLOWED_TAGS, attributes=sanitizer.ALLOWED_ATTRIBUTES,
                        protocols=sanitizer.ALLOWED_PROTOCOLS, strip=True)


def nh3_clean(html: str) -> str:
    """nh3 with the same allowlist, dropping script/style content."""
    return nh3.clean(html, tags=set(sanitizer.ALLOWED_TAGS),
                     attributes={tag: set(names) - {"rel"} for tag, names in
                                 sanitizer.ALLOWED_ATTRIBUTES.items()},
                     url_schemes=set(sanitizer.ALLOWED_PROTOCOLS),
                     clean_content_tags={"script", "style"}, link_rel=sanitizer.LINK_REL)


def measure(function, articles: list[str], repeat: int) -> float:
    """Best articles/second over `repeat` passes through all articles."""
    rates = []
    for _ in range(repeat):
        start = time.perf_counter()
        for html in articles:
            function(html)
        rates.append(len(articles) / (time.perf_counter() - start))
    return max(rates)


def main() -> None:
    """Build the articles, time each sanitizer in this one run, print a table."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--articles", type=int, default=200)
    options.add_argument("--repeat", type=int, default=5)
    args = options.parse_args()
    rng = random.Random(20240501)
    articles = [article(rng) for _ in range(args.articles)]
    cleaner = bleach_cleaner()
    contenders = [
        ("nh3.clean (anchor)", nh3_clean),
        ("bleach Cleaner, reused", cleaner.clean),
        ("bleach.clean per call", bleach_clean),
        ("sanitize_html (ours)", lambda html: sanitizer.sanitize_html(html, BASE_URL)),
    ]
    for _, function in contenders:  # warm up imports, caches and the per-thread pipeline
        function(articles[0])
    rates = {name: measure(function, articles, args.repeat) for name, function in contenders}
    size = statistics.mean(map(len, articles))
    baseline = rates["bleach Cleaner, reused"]
    print(f"{len(articles)} articles, mean {size / 1024:.1f} KiB, best of {args.repeat} passes")
    print(f"{'sanitizer':<26}{'articles/s':>12}{'ms/article':>12}{'time vs bleach':>16}")
    for name, rate in rates.items():
        print(f"{name:<26}{rate:>12.0f}{1000 / rate:>12.3f}{baseline / rate:>15.2f}x")
    ours = rates["sanitize_html (ours)"]
    for name in ("bleach.clean per call", "bleach Cleaner, reused"):
        ratio = rates[name] / ours
        print(f"goal: ours within 1.20x of {name}: {ratio:.2f}x "
              f"({'met' if ratio <= 1.2 else 'NOT met'})")


if __name__ == "__main__":
    main()
