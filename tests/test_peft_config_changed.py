"""A PEFT config used after it was built is not judged by its arguments alone: PEFT's own
tests register a custom LoRA layer for nn.LSTM (`config._register_custom_module`), after
which `target_modules=["lstm"]` is supported (huggingface/peft tests/test_custom_models.py);
here the same with BERT's LayerNorm."""

from __future__ import annotations

import textwrap

from freezelint.engine.lint import lint

CODE = """
import torch.nn as nn
from peft import LoraConfig, get_peft_model
from transformers import BertModel

model = BertModel.from_pretrained("bert-base-uncased")
config = LoraConfig(target_modules=TARGETS)
BETWEEN
peft_model = get_peft_model(model, config)
"""


def rules(targets: str, between: str = "") -> list[str]:
    code = CODE.replace("TARGETS", targets).replace("BETWEEN", between)
    return [d.rule for d in lint(textwrap.dedent(code))]


def test_the_config_as_written_is_judged():
    assert rules('["LayerNorm"]') == ["FZL402"]
    assert rules('["qurey"]') == ["FZL401"]


def test_a_config_changed_after_it_was_built_is_not():
    assert rules('["LayerNorm"]', "config._register_custom_module({nn.LayerNorm: MyLora})") == []
    assert rules('["qurey"]', 'config.target_modules = ["query"]') == []
    assert rules('["qurey"]', "adjust(config)") == []
