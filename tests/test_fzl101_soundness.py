"""Issue 13, class 8 (FZL101), from real code on BERT as transformers 4.x/5.x name it.

- PEFT's examples select the head with `"classifier" in n or "score" in n`, code for several
  architectures: the alternative this model lacks is not a mistake, and a fix that turned it
  into the other would write `"classifier" in n or "classifier" in n`;
- a layer prefix's did-you-mean keeps its dot ('layer.1' would also match 10 and 11);
- a literal that only modules without parameters have ('dropout') is a test that is always
  false on parameter names.
"""

from __future__ import annotations

import textwrap

from freezelint.engine.fixes import fix_text
from freezelint.engine.lint import LintConfig, lint
from freezelint.models.zoo import load_zoo

BERT = """\
    from transformers import BertForSequenceClassification

    model = BertForSequenceClassification.from_pretrained("bert-base-uncased")
    """


def config() -> LintConfig:
    return LintConfig(model=load_zoo("transformers/BertForSequenceClassification", {}))


def findings(body: str) -> list[str]:
    return [d.message for d in lint(textwrap.dedent(BERT) + textwrap.dedent(body), config())]


def test_an_alternative_for_other_architectures_is_not_reported() -> None:
    assert findings("""\
        head = [p for n, p in model.named_parameters() if "classifier" in n or "score" in n]
        """) == []


def test_dead_alternatives_get_no_fix_that_could_duplicate_a_condition() -> None:
    code = textwrap.dedent(BERT) + textwrap.dedent("""\
        head = [p for n, p in model.named_parameters() if "clasifier" in n or "scor" in n]
        """)
    found = lint(code, config())
    assert [d.rule for d in found] == ["FZL101", "FZL101"]
    assert "did you mean 'classifier'?" in found[0].message
    assert all(not d.fixes for d in found)
    assert fix_text(code, config(), unsafe=True).text == code


def test_a_layer_prefix_suggestion_keeps_its_dot() -> None:
    code = textwrap.dedent(BERT) + textwrap.dedent("""\
        for n, p in model.named_parameters():
            if n.startswith("bert.encoder.layers.1."):
                p.requires_grad = False
        """)
    (found,) = lint(code, config())
    assert "did you mean 'bert.encoder.layer.1.'?" in found.message
    fixed = fix_text(code, config(), unsafe=True).text
    assert 'n.startswith("bert.encoder.layer.1.")' in fixed  # not layers 10 and 11 too


def test_a_literal_only_parameterless_modules_have_is_always_false() -> None:
    (message,) = findings("""\
        for n, p in model.named_parameters():
            if "dropout" in n:
                p.requires_grad = False
        """)
    assert message.startswith("'dropout' occurs in no parameter name of "
                              "`transformers/BertForSequenceClassification`")
    assert "only modules without parameters have it (`bert.embeddings.dropout`" in message
    # Over named_modules() the same literal is a real name: nothing to say.
    assert findings("""\
        for n, m in model.named_modules():
            if "dropout" in n:
                m.eval()
        """) == []
