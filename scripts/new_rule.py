"""Scaffold a new rule: its module in freezelint/checks/ and its page in rules/.

    python scripts/new_rule.py FZL113 head-not-replaced
    python scripts/new_rule.py FZL113 head-not-replaced --model resnet50 --severity error
    python scripts/new_rule.py --sync-readme     # the README's rule table from rules/*.md

The two files are all a rule needs: the module registers itself when `freezelint.checks` is
imported, the pre-filter is built from its declared triggers, and the tests run the page's
examples (CONTRIBUTING.md walks through one). Existing files are never overwritten.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKS = ROOT / "freezelint" / "checks"
RULES = ROOT / "rules"
README = ROOT / "README.md"

RULE_ID = re.compile(r"^FZL\d{3}$")
RULE_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")

MODULE = '''"""{rule_id} {name}: TODO one line, what it finds (rules/{doc} says why it matters)."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from freezelint.checks.base import Context, Finding, rule


# `triggers`: text without which this rule cannot report; a file that has none of any rule's
# triggers (and names no model) is never parsed. `visits`: the nodes `ctx.nodes` returns.
@rule("{rule_id}", triggers=(r"TODO",), visits=(cst.Call,))
def {function}(ctx: Context) -> Iterator[Finding]:
    for node in ctx.nodes(cst.Call):
        if False:  # TODO: the test that makes `node` the mistake this rule reports
            yield Finding(node, "TODO: what is wrong, what happens at run time, what to do")
'''

PAGE = '''---
id: {rule_id}
name: {name}
severity: {severity}
fix: none
model: {model}
---
# {rule_id} {name}

## What it does
TODO: what the rule reports, in the terms a user sees in the code.

## Why is this bad
TODO: the silent failure or the crash, with the real symptom.

## Example
```python
TODO: a script the rule reports, exactly once
```

## Use instead
```python
TODO: the same script, fixed
```

## Fix safety
No automatic fix.
'''


def scaffold(rule_id: str, name: str, *, model: str, severity: str,
             checks: Path = CHECKS, rules: Path = RULES) -> list[Path]:
    """Create the rule's module and page; returns their paths."""
    if not RULE_ID.match(rule_id):
        raise ValueError(f"{rule_id!r} is not a rule id like FZL113")
    if not RULE_NAME.match(name):
        raise ValueError(f"{name!r} is not a kebab-case name like head-not-replaced")
    taken = sorted(rules.glob(f"{rule_id}-*.md"))
    if taken:
        raise ValueError(f"{rule_id} is taken: {taken[0].name}")
    function = name.replace("-", "_")
    module = checks / f"{function}.py"
    page = rules / f"{rule_id}-{name}.md"
    if module.exists():
        raise ValueError(f"{module} exists")
    doc = page.name
    module.write_text(MODULE.format(rule_id=rule_id, name=name, function=function, doc=doc),
                      encoding="utf-8")
    page.write_text(PAGE.format(rule_id=rule_id, name=name, model=model, severity=severity),
                    encoding="utf-8")
    return [module, page]


_TABLE = re.compile(r"(\| id \| name \| severity \| fix \|\n\|---\|---\|---\|---\|\n)"
                    r"(?:\|.*\|\n)*")
_FRONT = re.compile(r"\A---\n(.*?)\n---\n", re.S)


def readme_table(rules: Path = RULES) -> str:
    rows = []
    for path in sorted(rules.glob("FZL*.md")):
        front = _FRONT.match(path.read_text(encoding="utf-8"))
        fields = dict(line.split(":", 1) for line in front.group(1).splitlines()) if front else {}
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        fix = fields.get("fix", "none")
        rows.append(f"| {fields['id']} | {fields['name']} | {fields['severity']} |"
                    + (" |\n" if fix == "none" else f" {fix} |\n"))
    return "".join(rows)


def sync_readme(readme: Path = README, rules: Path = RULES) -> bool:
    """Rewrite the README's rule table from rules/*.md; True when it changed."""
    text = readme.read_text(encoding="utf-8")
    match = _TABLE.search(text)
    if match is None:
        raise ValueError(f"{readme}: no rule table (| id | name | severity | fix |)")
    new = text[:match.start()] + match.group(1) + readme_table(rules) + text[match.end():]
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rule_id", nargs="?", help="e.g. FZL113")
    parser.add_argument("name", nargs="?", help="kebab-case, e.g. head-not-replaced")
    parser.add_argument("--model", default="resnet50",
                        help="the zoo model the page's examples are linted against")
    parser.add_argument("--severity", default="warning", choices=["error", "warning", "info"])
    parser.add_argument("--sync-readme", action="store_true",
                        help="rewrite the README's rule table from rules/*.md")
    args = parser.parse_args(argv)
    if args.sync_readme:
        print("README rule table updated" if sync_readme() else "README rule table up to date")
        if args.rule_id is None:
            return 0
    if args.rule_id is None or args.name is None:
        parser.error("give a rule id and a name, e.g. FZL113 head-not-replaced")
    try:
        created = scaffold(args.rule_id.upper(), args.name, model=args.model,
                           severity=args.severity)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in created:
        print(f"created {path.relative_to(ROOT)}")
    print("next: fill in the TODOs (CONTRIBUTING.md), then "
          f"`python -m pytest tests/test_rule_examples.py -k {args.rule_id.upper()}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
