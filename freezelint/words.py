"""How counts read in messages and tables: `87.9M`, `1 file`, `3 files`."""

from __future__ import annotations


def human(count: int) -> str:
    """87_949_546 -> '87.9M': the magnitude matters, not the digits."""
    for factor, unit in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if count >= factor:
            return f"{count / factor:.1f}{unit}"
    return str(count)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
