"""get_peft_model(model, ...) changes `model` in place: its names afterwards are PEFT's, so a
name test on it is not judged against the base model's names (huggingface/peft
tests/test_mixed.py: `"adapter0" in n` over model.named_parameters() after get_peft_model)."""

from __future__ import annotations

import textwrap

from freezelint.engine.lint import lint

CODE = """
from peft import LoraConfig, get_peft_model
from transformers import BertModel

model = BertModel.from_pretrained("bert-base-uncased")
peft_model = get_peft_model(model, LoraConfig(target_modules=["query", "value"]))
lora = [p for n, p in model.named_parameters() if "lora_A" in n]
"""


def test_names_of_the_model_given_to_peft_are_not_the_base_names():
    assert lint(textwrap.dedent(CODE)) == []


def test_the_config_is_still_checked_against_the_base_names():
    found = lint(textwrap.dedent(CODE.replace('"value"', '"vaule"')))
    assert [d.rule for d in found] == ["FZL401"]
