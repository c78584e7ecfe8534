"""PEFT's LoRA wrapping as data (models/peft.py): the wrapped names and what PEFT leaves
trainable, on shipped manifests; equal to live PEFT where it is installed (the zoo's
generation environment, /work/zoovenv: torch 2.14.1, transformers 5.24.0, peft 0.21.2); and
scripts that freeze or unfreeze by the base model's names after get_peft_model."""

from __future__ import annotations

import textwrap

import pytest

from freezelint.engine.lint import LintConfig, lint
from freezelint.models.peft import PREFIX, LoraSpec, PeftUnsupported, apply_lora
from freezelint.models.zoo import load_zoo

# (transformers class, config arguments, LoraConfig arguments)
LIVE_CASES = [
    ("BertForSequenceClassification", {"num_hidden_layers": 2},
     {"r": 8, "target_modules": ["query", "value"], "task_type": "SEQ_CLS"}),
    ("BertModel", {"num_hidden_layers": 2},
     {"r": 4, "target_modules": ["query", "value", "word_embeddings"], "bias": "all",
      "lora_dropout": 0.1}),
    ("RobertaForSequenceClassification", {"num_hidden_layers": 2},
     {"r": 16, "target_modules": ["query", "key", "value", "dense"], "task_type": "SEQ_CLS",
      "bias": "lora_only"}),
    ("GPT2LMHeadModel", {"n_layer": 2}, {"r": 8, "task_type": "CAUSAL_LM"}),
    ("LlamaForCausalLM", {"num_hidden_layers": 2}, {"r": 8, "task_type": "CAUSAL_LM"}),
    ("LlamaForSequenceClassification", {"num_hidden_layers": 2},
     {"r": 8, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"],
      "task_type": "SEQ_CLS"}),
    ("ViTForImageClassification", {"num_hidden_layers": 2},
     {"r": 8, "target_modules": ["q_proj", "v_proj"], "modules_to_save": ["classifier"]}),
    ("LlamaForCausalLM", {"num_hidden_layers": 2},
     {"r": 8, "target_modules": r".*\.(q_proj|v_proj)"}),
    ("T5ForConditionalGeneration", {"num_layers": 2}, {"r": 8, "task_type": "SEQ_2_SEQ_LM"}),
    ("BertForSequenceClassification", {"num_hidden_layers": 1},
     {"r": 8, "target_modules": ["query"], "modules_to_save": ["fier", "output.dense"]}),
]


def _spec(lora: dict) -> LoraSpec:
    return LoraSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in lora.items()})


@pytest.mark.torch
@pytest.mark.parametrize(("cls", "config", "lora"), LIVE_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(LIVE_CASES)])
def test_lora_wrapping_equals_live_peft(cls: str, config: dict, lora: dict) -> None:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    peft = pytest.importorskip("peft")
    from freezelint.models.introspect import manifest_from_module

    model_class = getattr(transformers, cls)
    with torch.device("meta"):
        model = model_class(model_class.config_class(**config))
    base = manifest_from_module(model, cls, "zoo")
    wrapped_live = peft.get_peft_model(model, peft.LoraConfig(**lora))
    live = manifest_from_module(wrapped_live, cls, "zoo")
    trainable = {n for n, p in wrapped_live.named_parameters() if p.requires_grad}
    mine = apply_lora(base, _spec(lora), model.config.model_type)
    assert mine.manifest.parameters == live.parameters
    assert mine.manifest.buffers == live.buffers
    assert [(m.path, m.type, m.attrs) for m in mine.manifest.modules] == \
        [(m.path, m.type, m.attrs) for m in live.modules]
    assert mine.trainable == trainable


def test_lora_on_a_shipped_roberta_classifier() -> None:
    base = load_zoo("roberta-base", {})  # RobertaModel
    wrapped = apply_lora(load_zoo("roberta-base:RobertaForSequenceClassification"),
                         LoraSpec(target_modules=("query", "value"), task_type="SEQ_CLS"),
                         "roberta")
    names = wrapped.manifest.parameter_names
    assert all(n.startswith(PREFIX) for n in names)
    layer = PREFIX + "roberta.encoder.layer.11.attention.self"
    assert f"{layer}.query.base_layer.weight" in names
    assert f"{layer}.query.lora_A.default.weight" in names
    assert f"{layer}.value.lora_B.default.weight" in names
    assert f"{layer}.key.weight" in names  # not targeted: only the prefix changes
    head = PREFIX + "classifier"
    assert f"{head}.original_module.out_proj.weight" in names
    assert f"{head}.modules_to_save.default.out_proj.weight" in names
    # PEFT trains the adapters and the saved head's copy, nothing else
    assert wrapped.trainable == {n for n in names if ".lora_" in n or ".modules_to_save." in n}
    assert len(wrapped.trainable) == 12 * 2 * 2 + 4
    assert base.parameter_names[0] == "embeddings.word_embeddings.weight"


def test_peft_defaults_per_model_type() -> None:
    wrapped = apply_lora(load_zoo("transformers/LlamaForCausalLM", {"num_hidden_layers": 2}),
                         LoraSpec(task_type="CAUSAL_LM"), "llama")
    adapters = sorted({n.split(".")[-4] for n in wrapped.trainable})
    assert adapters == ["q_proj", "v_proj"]  # PEFT's default for llama


@pytest.mark.parametrize("spec", [LoraSpec(target_modules=("no_such_layer",)),
                                  LoraSpec(target_modules=("query",), use_dora=True),
                                  LoraSpec()])  # no targets, no default for ViT
def test_what_is_not_modelled_is_refused(spec: LoraSpec) -> None:
    with pytest.raises(PeftUnsupported):
        apply_lora(load_zoo("transformers/ViTForImageClassification"), spec, "vit")


SCRIPT = """
from transformers import AutoModelForSequenceClassification
from peft import LoraConfig, TaskType, get_peft_model
import torch

model = AutoModelForSequenceClassification.from_pretrained("roberta-base", num_labels=3)
config = LoraConfig(r=8, lora_alpha=16, target_modules=["query", "value"],
                    task_type=TaskType.SEQ_CLS)
model = get_peft_model(model, config)
for name, param in model.named_parameters():
    if name.startswith({prefix!r}):
        param.requires_grad = True
optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
"""


def test_unfreezing_by_base_names_after_lora_is_reported() -> None:
    text = textwrap.dedent(SCRIPT.format(prefix="roberta.encoder.layer.11."))
    found = [d for d in lint(text, LintConfig()) if d.rule == "FZL101"]
    assert len(found) == 1
    assert "roberta.encoder.layer.11." in found[0].message
    assert "peft(roberta-base:RobertaForSequenceClassification)" in found[0].message
    assert "base_model.model.roberta.encoder.layer.11" in found[0].message


def test_unfreezing_by_wrapped_names_is_quiet() -> None:
    text = textwrap.dedent(SCRIPT.format(prefix="base_model.model.roberta.encoder.layer.11."))
    assert "FZL101" not in [d.rule for d in lint(text, LintConfig())]


def test_an_unmodelled_lora_config_leaves_the_model_unknown() -> None:
    text = textwrap.dedent(SCRIPT.format(prefix="roberta.encoder.layer.11.")).replace(
        "r=8,", "r=8, layers_to_transform=[11],")
    assert "FZL101" not in [d.rule for d in lint(text, LintConfig())]


# modules_to_save as PEFT 0.21.2 matches it (utils/other.py `_set_trainable`): a plain
# `key.endswith(entry)`, no dot boundary; adapters are kept off saved modules by another test,
# `(^|.*\.)entry($|\..*)` (tuners_utils.py `check_target_module_exists`). Checked against live
# PEFT in /work/zoovenv on the meta device (1-layer configs).
def test_modules_to_save_is_a_plain_suffix_test() -> None:
    # DistilBERT has `pre_classifier` and `classifier`: "classifier" saves both.
    wrapped = apply_lora(load_zoo("transformers/DistilBertForSequenceClassification"),
                         LoraSpec(target_modules=("q_lin", "v_lin"),
                                  modules_to_save=("classifier",)), "distilbert")
    names = wrapped.manifest.parameter_names
    for head in ("pre_classifier", "classifier"):
        assert f"{PREFIX}{head}.modules_to_save.default.weight" in wrapped.trainable
        assert f"{PREFIX}{head}.original_module.weight" in names


def test_an_adapted_module_saved_whole_is_not_modelled() -> None:
    roberta = load_zoo("roberta-base:RobertaForSequenceClassification")
    # "ifier" saves `classifier` but does not keep LoRA off `classifier.dense`: live PEFT
    # saves a copy holding the adapter.
    with pytest.raises(PeftUnsupported, match=r"classifier\.dense"):
        apply_lora(roberta, LoraSpec(target_modules=("dense",), modules_to_save=("ifier",)),
                   "roberta")
    # the whole entry keeps the adapter off it: modelled (equal to live PEFT)
    wrapped = apply_lora(roberta, LoraSpec(target_modules=("dense",),
                                           modules_to_save=("classifier",)), "roberta")
    assert f"{PREFIX}classifier.modules_to_save.default.dense.weight" in wrapped.trainable
    # live PEFT raises TypeError: modules_to_save cannot be applied to a lora.Linear
    with pytest.raises(PeftUnsupported, match="pre_classifier"):
        apply_lora(load_zoo("transformers/DistilBertForSequenceClassification"),
                   LoraSpec(target_modules=("q_lin", "pre_classifier"),
                            modules_to_save=("classifier",)), "distilbert")
