"""How counts read in messages and tables (`87.9M`, `1 file`, `3 files`), how far apart
two words are (for typos), and where a name starts in source text."""

from __future__ import annotations


def human(count: int) -> str:
    """87_949_546 -> '87.9M': the magnitude matters, not the digits."""
    for factor, unit in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if count >= factor:
            return f"{count / factor:.1f}{unit}"
    return str(count)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions, one each."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def starts_a_name(text: str, index: int) -> bool:
    """Whether a name found at `index` of `text` is whole at its start: the character
    before it cannot continue a name (`SGD(`, not the end of `MySGD(`)."""
    return index == 0 or not (text[index - 1].isalnum() or text[index - 1] == "_")
