"""The README's rule table lists every rule with the severity and fix safety of its doc."""

from __future__ import annotations

import re
from pathlib import Path

from freezelint.common.rule_docs import all_rule_docs

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_readme_rule_table_matches_the_catalog():
    rows = re.findall(r"^\| (FZL\d{3}) \| ([\w-]+) \| (\w+) \|\s*(\w*)\s*\|$", README, re.M)
    table = {rid: (name, severity, fix or "none") for rid, name, severity, fix in rows}
    catalog = {d.id: (d.name, d.severity.value, d.fix) for d in all_rule_docs().values()}
    assert table == catalog
