"""FZL303 prefix-replace: `k.replace('module.', '')` strips the prefix everywhere in the key."""

from __future__ import annotations

from freezelint.engine.lint import LintConfig, lint


def test_a_counted_replace_is_not_reported() -> None:
    # timm's deepseek_vit: `replace('encoder.', '', 1)` under a startswith guard strips the
    # prefix only; FZL303 is for the uncounted replace that also strips inner occurrences.
    text = ("out = {}\nfor k, v in sd.items():\n    if k.startswith('encoder.'):\n"
            "        k = k.replace('encoder.', '', 1)\n    out[k] = v\n")
    assert lint(text, LintConfig(prefilter=False)) == lint(text) == []
    assert [d.rule for d in lint(text.replace(", 1)", ")"))] == ["FZL303"]
