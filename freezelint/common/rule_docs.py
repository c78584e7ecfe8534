"""The rule catalog: one Markdown file per rule in `rules/`, the single source of truth for a
rule's name, severity, fix safety, explanation and examples.

The same text feeds `freezelint rule FZL101`, the LSP hover and the tests that run every
example. In a wheel the files live in `freezelint/_rules`; in a checkout, in `rules/`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from freezelint.common.diagnostics import Severity

DOCS_URL = "https://github.com/freezelint/freezelint/blob/main/rules/{file}"

_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)
_CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.S)


@dataclass(frozen=True)
class RuleDoc:
    id: str
    name: str
    severity: Severity
    fix: str  # "none", "safe", "unsafe"
    model: str | None  # the model the examples are linted against
    file: str
    body: str
    # Runs only when selected by its code (`--extend-select FZL900`), never by default, by
    # "ALL" or by a prefix as short as "FZL": front matter `opt-in: true`.
    opt_in: bool = False

    @property
    def title(self) -> str:
        return f"{self.id} {self.name}"

    @property
    def url(self) -> str:
        return DOCS_URL.format(file=self.file)

    def section(self, heading: str) -> str:
        match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", self.body, re.S | re.M)
        return match.group(1).strip() if match else ""

    def example(self, heading: str) -> str | None:
        """The first python block of a section ("Example", "Use instead")."""
        match = _CODE_BLOCK.search(self.section(heading))
        return match.group(1) if match else None

    @property
    def summary(self) -> str:
        return self.section("What it does").split("\n\n")[0].replace("\n", " ")


def rules_dir() -> Path:
    packaged = Path(__file__).parents[1] / "_rules"
    if packaged.is_dir():
        return packaged
    return Path(__file__).parents[2] / "rules"


def _parse(path: Path) -> RuleDoc:
    text = path.read_text(encoding="utf-8")
    match = _FRONT_MATTER.match(text)
    if match is None:
        raise ValueError(f"{path.name}: missing front matter")
    fields = dict(line.split(":", 1) for line in match.group(1).splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    return RuleDoc(
        id=fields["id"],
        name=fields["name"],
        severity=Severity(fields["severity"]),
        fix=fields.get("fix", "none"),
        model=fields.get("model") or None,
        file=path.name,
        body=text[match.end():],
        opt_in=fields.get("opt-in", "false").lower() == "true",
    )


@cache
def all_rule_docs() -> dict[str, RuleDoc]:
    docs = (_parse(p) for p in sorted(rules_dir().glob("FZL*.md")))
    return {doc.id: doc for doc in docs}


def rule_doc(rule_id: str) -> RuleDoc | None:
    return all_rule_docs().get(rule_id.upper())
