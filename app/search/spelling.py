"""A word of the question that is a value the data holds spelled another way: "jewelry" for `jewellery`, "color"
for `colour`, "theater" for `theatre`, "stationary" for `stationery`, or mistyped ("electronis", "jackts").

Model-free on purpose: a small encoder reads a typo as another word ("jackts" 0.27 to "jackets" with MiniLM) and a
large one reads different words as near ("watched" 0.93 to "watches" with multilingual-e5), so neither cosine
tells a spelling from a meaning. What does: the letters the two share. Inserting or dropping a letter, swapping
two neighbours or one vowel for another is a spelling; any other letter for another is another word ("boots" is
not "books", "watched" is not "watches": dropping "d" and adding "s" is one letter for another, so a word may only
gain letters towards a longer value and only lose them towards a shorter one).
"""

from __future__ import annotations

from collections.abc import Iterable

VOWELS = frozenset("aeiouy")
MIN_LETTERS = 5  # shorter words are too close to each other to correct ("bags" / "bugs")


def budget(word: str) -> int:
    """The edits a word of this length may be away from a value: none under 5 letters, 1 at 5, 2 from 6."""
    return 0 if len(word) < MIN_LETTERS else 1 if len(word) == MIN_LETTERS else 2


def spelling_distance(a: str, b: str, limit: int = 2) -> int:
    """Edits from `a` to `b` (insert where `b` is longer, drop where it is shorter, swap neighbours, a vowel for a
    vowel: 1 each; any other letter for another: more than `limit`), or `limit + 1` once more than `limit` are
    needed. O(len(a) * len(b)), on words of the question (at most 40 letters each, see `spelled_like`)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    far = limit + 1
    drop, add = (1 if len(a) > len(b) else far), (1 if len(b) > len(a) else far)
    prev2: list[int] = []
    prev = [j * add for j in range(len(b) + 1)]
    for i in range(1, len(a) + 1):
        row = [i * drop] + [0] * len(b)
        for j in range(1, len(b) + 1):
            x, y = a[i - 1], b[j - 1]
            swap = 0 if x == y else 1 if x in VOWELS and y in VOWELS else far
            row[j] = min(prev[j] + drop, row[j - 1] + add, prev[j - 1] + swap)
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                row[j] = min(row[j], prev2[j - 2] + 1)
        if min(row) > limit and min(prev) > limit:  # a swap reaches back two rows
            return far
        prev2, prev = prev, row
    return min(prev[-1], far)


def spelled_like(word: str, values: Iterable[str]) -> str | None:
    """The one value (a single word of letters) that `word` spells another way: same first two letters, within
    `budget(word)` edits, and no other value as near; None otherwise, and for a value itself."""
    if not word.isalpha() or len(word) > 40 or budget(word) == 0:
        return None
    best: list[str] = []
    nearest = budget(word) + 1
    for value in values:
        if value == word:
            return None
        if not value.isalpha() or value[:2] != word[:2] or len(value) < MIN_LETTERS:
            continue
        d = spelling_distance(word, value, budget(word))
        if d < nearest:
            best, nearest = [value], d
        elif d == nearest and d <= budget(word):
            best.append(value)
    return best[0] if len(best) == 1 else None
