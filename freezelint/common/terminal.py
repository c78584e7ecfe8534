"""Text from source files made safe to print on a terminal.

Messages quote the user's literals and the full format shows their lines: a hostile file
can hold raw escape sequences (`\\x1b]0;...`, cursor movement, a screen clear) or Unicode
bidirectional overrides that would make the report lie about the code. Every text format
prints what comes from source text through `visible`, which spells such characters the
way Python's repr does and leaves everything else, tabs and newlines included, alone.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional formatting
# characters of the "Trojan Source" attacks (CVE-2021-42574).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
