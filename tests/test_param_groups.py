"""Param groups are name tests (issue 16): weight-decay exclusion lists, differential learning
rates and groups that overlap, replayed over the real names of the models the recipes were
and were not written for.

Each reported script has a corrected twin that is quiet. GPT-2, OPT, LLaMA and RoBERTa are
built live on the meta device (tests/live_models.py); ResNet-50 comes from the shipped zoo.
"""

from __future__ import annotations

import textwrap

import pytest
from live_models import live_manifest

from freezelint.engine.fixes import fix_text
from freezelint.engine.lint import LintConfig, lint

GPT2 = ("GPT2LMHeadModel", "GPT2Config")
OPT = ("OPTForCausalLM", "OPTConfig")
LLAMA = ("LlamaForCausalLM", "LlamaConfig")
ROBERTA_MLM = ("RobertaForMaskedLM", "RobertaConfig")

# The weight-decay grouping of the BERT fine-tuning examples (run_glue.py, 2019-2020), copied
# into countless scripts: no decay for biases and for parameters named `LayerNorm.weight`.
BERT_NO_DECAY = '["bias", "LayerNorm.weight"]'


def _grouping(no_decay: str, loader: str = "AutoModelForCausalLM",
              checkpoint: str = "gpt2") -> str:
    return textwrap.dedent(f"""\
        import torch
        from transformers import {loader}

        model = {loader}.from_pretrained("{checkpoint}")
        no_decay = {no_decay}
        groups = [
            {{"params": [p for n, p in model.named_parameters()
                        if not any(nd in n for nd in no_decay)],
             "weight_decay": 0.01}},
            {{"params": [p for n, p in model.named_parameters()
                        if any(nd in n for nd in no_decay)],
             "weight_decay": 0.0}},
        ]
        optimizer = torch.optim.AdamW(groups, lr=5e-5)
    """)


def _lint(text: str, spec: tuple[str, str]) -> list:
    return lint(text, LintConfig(model=live_manifest(*spec)))


def _rules(diagnostics: list) -> list[str]:
    return sorted(d.rule for d in diagnostics)


# -- weight decay on norms the list does not name --------------------------------------------------
def test_bert_list_on_gpt2_names_no_parameter():
    """GPT-2's norms are ln_1, ln_2, ln_f: 'LayerNorm.weight' is in no name, every norm decays.
    The message names them all, and the unsafe fix lists them all."""
    text = _grouping(BERT_NO_DECAY)
    diagnostics = _lint(text, GPT2)
    assert _rules(diagnostics) == ["FZL101"]
    assert diagnostics[0].message == (
        "'LayerNorm.weight' occurs in no parameter name of `GPT2LMHeadModel` (148 parameters): "
        "`LayerNorm` is the class of its 25 normalization layers, not their name; they are "
        "named `ln_1`, `ln_2`, `ln_f`")
    fixed = fix_text(text, LintConfig(model=live_manifest(*GPT2)), unsafe=True).text
    assert 'no_decay = ["bias", "ln_1.weight", "ln_2.weight", "ln_f.weight"]' in fixed
    assert _lint(fixed, GPT2) == []


def test_deepspeed_chat_list_on_gpt2_misses_the_block_norms():
    """DeepSpeed-Chat's list after its fix (DeepSpeedExamples#755) names OPT's, LLaMA's and
    BLOOM's norms, and GPT-2's final `ln_f`, but not GPT-2's block norms ln_1/ln_2: 24 of
    GPT-2's 25 LayerNorm weights still get weight decay. The function is DeepSpeed-Chat's
    get_optimizer_grouped_parameters (training/utils/utils.py) in its shape."""
    text = textwrap.dedent("""\
        import torch
        from transformers import AutoModelForCausalLM


        def get_optimizer_grouped_parameters(
                model, weight_decay, lora_lr=5e-4,
                no_decay_name_list=["bias", "layer_norm.weight", "layernorm.weight",
                                    "norm.weight", "ln_f.weight"],
                lora_name_list=["lora_right_weight", "lora_left_weight"]):
            return [
                {"params": [p for n, p in model.named_parameters()
                            if (not any(nd in n.lower() for nd in no_decay_name_list)
                                and p.requires_grad
                                and not any(nd in n.lower() for nd in lora_name_list))],
                 "weight_decay": weight_decay},
                {"params": [p for n, p in model.named_parameters()
                            if (not any(nd in n.lower() for nd in no_decay_name_list)
                                and p.requires_grad
                                and any(nd in n.lower() for nd in lora_name_list))],
                 "weight_decay": weight_decay, "lr": lora_lr},
                {"params": [p for n, p in model.named_parameters()
                            if (any(nd in n.lower() for nd in no_decay_name_list)
                                and p.requires_grad)],
                 "weight_decay": 0.0},
            ]


        model = AutoModelForCausalLM.from_pretrained("gpt2")
        optimizer = torch.optim.AdamW(get_optimizer_grouped_parameters(model, 0.1), lr=1e-4)
    """)
    diagnostics = _lint(text, GPT2)
    assert _rules(diagnostics) == ["FZL206"]
    message = diagnostics[0].message
    assert "`transformer.ln_f.weight` is in a group without decay" in message
    assert "24 (`transformer.h.0.ln_1.weight`, `transformer.h.0.ln_2.weight`" in message
    assert "weight_decay 0.1" in message
    assert "named `ln_1`, `ln_2`" in message
    fixed = text.replace('"ln_f.weight"]', '"ln_f.weight", "ln_1.weight", "ln_2.weight"]')
    assert _lint(fixed, GPT2) == []


def test_gpt2_list_naming_every_norm_is_quiet():
    assert _lint(_grouping('["bias", "ln_1.weight", "ln_2.weight", "ln_f.weight"]'), GPT2) == []


def test_bert_list_on_opt_and_its_fix():
    diagnostics = _lint(_grouping(BERT_NO_DECAY, checkpoint="facebook/opt-350m"), OPT)
    assert _rules(diagnostics) == ["FZL101"]
    assert diagnostics[0].message.endswith(
        "`LayerNorm` is the class of its 25 normalization layers, not their name; they are "
        "named `final_layer_norm`, `self_attn_layer_norm`")
    fixed = _grouping('["bias", "layer_norm.weight"]', checkpoint="facebook/opt-350m")
    assert _lint(fixed, OPT) == []


def test_one_llama_norm_named_misses_the_others():
    """LLaMA has three RMSNorm names: input_layernorm, post_attention_layernorm, norm."""
    text = _grouping('["bias", "input_layernorm.weight"]',
                     checkpoint="meta-llama/Llama-2-7b-hf")
    diagnostics = [d for d in _lint(text, LLAMA) if d.rule != "FZL101"]  # LLaMA has no bias
    assert _rules(diagnostics) == ["FZL206"]
    message = diagnostics[0].message
    assert message.startswith("the LlamaRMSNorm weights of `LlamaForCausalLM` get two weight "
                              "decays: 32 (`model.layers.0.input_layernorm.weight`")
    assert "33 (`model.layers.0.post_attention_layernorm.weight`" in message
    assert "named `norm`, `post_attention_layernorm`" in message
    fixed = _grouping('["input_layernorm.weight", "post_attention_layernorm.weight", '
                      '"model.norm.weight"]', checkpoint="meta-llama/Llama-2-7b-hf")
    assert _lint(fixed, LLAMA) == []


def test_bert_list_on_llama_names_its_rms_norms():
    """LLaMA's norms are LlamaRMSNorm layers; the fix needs `.norm.weight`, since `norm`
    also ends `input_layernorm`."""
    text = _grouping('["LayerNorm.weight"]', checkpoint="meta-llama/Llama-2-7b-hf")
    diagnostics = _lint(text, LLAMA)
    assert _rules(diagnostics) == ["FZL101"]
    assert diagnostics[0].message.endswith(
        "`LlamaRMSNorm` is the class of its 65 normalization layers, not their name; they are "
        "named `input_layernorm`, `post_attention_layernorm`, `norm`")
    fixed = fix_text(text, LintConfig(model=live_manifest(*LLAMA)), unsafe=True).text
    assert ('no_decay = ["input_layernorm.weight", "post_attention_layernorm.weight", '
            '".norm.weight"]') in fixed
    assert _lint(fixed, LLAMA) == []


def test_bert_list_on_roberta_mlm_misses_the_lm_head_norm():
    """RoBERTa's encoder norms are `LayerNorm` like BERT's; its LM head's is `layer_norm`."""
    text = _grouping(BERT_NO_DECAY, loader="AutoModelForMaskedLM", checkpoint="roberta-base")
    diagnostics = _lint(text, ROBERTA_MLM)
    assert _rules(diagnostics) == ["FZL206"]
    message = diagnostics[0].message
    assert "25 (`roberta.embeddings.LayerNorm.weight`" in message
    assert "`lm_head.layer_norm.weight` is in a group with weight_decay 0.01" in message
    fixed = _grouping('["bias", "LayerNorm.weight", "layer_norm.weight"]',
                      loader="AutoModelForMaskedLM", checkpoint="roberta-base")
    assert _lint(fixed, ROBERTA_MLM) == []


# -- the groupings that cannot miss a norm are quiet ------------------------------------------------
TRAINER_GROUPING = textwrap.dedent("""\
    import re

    import torch
    from torch import nn
    from transformers import AutoModel


    def get_parameter_names(model, forbidden_layer_types, forbidden_layer_names=None):
        patterns = [re.compile(p) for p in forbidden_layer_names or []]
        result = []
        for name, child in model.named_children():
            child_params = get_parameter_names(child, forbidden_layer_types, forbidden_layer_names)
            result += [
                f"{name}.{n}"
                for n in child_params
                if not isinstance(child, tuple(forbidden_layer_types))
                and not any(p.search(f"{name}.{n}".lower()) for p in patterns)
            ]
        result += [k for k in model._parameters if not any(p.search(k.lower()) for p in patterns)]
        return result


    model = AutoModel.from_pretrained("some/model")
    forbidden = [r"bias", r"layernorm", r"rmsnorm", r"(?:^|\\.)norm(?:$|\\.)", r"_norm(?:$|\\.)"]
    decay_parameters = get_parameter_names(model, [nn.LayerNorm], forbidden)
    groups = [
        {"params": [p for n, p in model.named_parameters()
                    if (n in decay_parameters and p.requires_grad)], "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters()
                    if (n not in decay_parameters and p.requires_grad)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=5e-5)
""")

NANOGPT_GROUPING = textwrap.dedent("""\
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained("some/model")
    param_dict = {pn: p for pn, p in model.named_parameters()}
    param_dict = {pn: p for pn, p in param_dict.items() if p.requires_grad}
    decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
    nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
    optim_groups = [
        {"params": decay_params, "weight_decay": 0.1},
        {"params": nodecay_params, "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(optim_groups, lr=6e-4, betas=(0.9, 0.95))
""")


@pytest.mark.parametrize("spec", [GPT2, OPT, LLAMA, ROBERTA_MLM], ids=lambda s: s[0])
@pytest.mark.parametrize("text", [TRAINER_GROUPING, NANOGPT_GROUPING],
                         ids=["transformers-Trainer", "nanoGPT"])
def test_type_and_shape_based_groupings_are_quiet(text, spec):
    """The transformers Trainer's own grouping (get_decay_parameter_names, by layer type and
    name pattern) and nanoGPT's (by dimension)."""
    assert _lint(text, spec) == []


# -- groups that overlap -----------------------------------------------------------------------------
def test_head_group_next_to_all_parameters(config_for):
    text = textwrap.dedent("""\
        import torch
        import torchvision

        model = torchvision.models.resnet50(weights="IMAGENET1K_V2")
        optimizer = torch.optim.SGD([
            {"params": model.parameters()},
            {"params": model.fc.parameters(), "lr": 1e-2},
        ], lr=1e-3, momentum=0.9)
    """)
    diagnostics = lint(text, config_for("resnet50"))
    assert _rules(diagnostics) == ["FZL207"]
    assert diagnostics[0].message.startswith(
        "2 parameters of `resnet50` (`fc.weight`, `fc.bias`) are in param group 0 and again in "
        "group 1: torch raises ValueError")


def test_add_param_group_with_parameters_already_held(config_for):
    text = textwrap.dedent("""\
        import torch
        import torchvision

        model = torchvision.models.resnet50(weights="IMAGENET1K_V2")
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
        optimizer.add_param_group({"params": model.layer4.parameters(), "lr": 1e-4})
    """)
    diagnostics = lint(text, config_for("resnet50"))
    assert _rules(diagnostics) == ["FZL207"]
    assert "`layer4.0.conv1.weight`" in diagnostics[0].message
    assert diagnostics[0].span.start.line == 6


def test_disjoint_groups_and_two_models_are_quiet(config_for):
    text = textwrap.dedent("""\
        import torch
        import torchvision

        model = torchvision.models.resnet50(weights="IMAGENET1K_V2")
        teacher = torchvision.models.resnet50(weights="IMAGENET1K_V2")
        backbone = [p for n, p in model.named_parameters() if not n.startswith("fc.")]
        optimizer = torch.optim.SGD([
            {"params": backbone},
            {"params": model.fc.parameters(), "lr": 1e-2},
            {"params": teacher.fc.parameters(), "lr": 1e-2},
        ], lr=1e-3, momentum=0.9)
    """)
    assert lint(text, config_for("resnet50")) == []


# -- differential learning rates written for another architecture --------------------------------
def test_head_lr_group_on_a_model_whose_head_is_fc(config_for):
    text = textwrap.dedent("""\
        import torch
        import torchvision

        model = torchvision.models.resnet50(weights="IMAGENET1K_V2")
        head = [p for n, p in model.named_parameters() if "head" in n]
        body = [p for n, p in model.named_parameters() if "head" not in n]
        optimizer = torch.optim.AdamW([{"params": body, "lr": 1e-5},
                                       {"params": head, "lr": 1e-3}])
    """)
    diagnostics = lint(text, config_for("resnet50"))
    assert _rules(diagnostics) == ["FZL101", "FZL101"]
    assert all("did you mean 'fc'?" in d.message for d in diagnostics)
    fixed = text.replace('"head"', '"fc."')
    assert lint(fixed, config_for("resnet50")) == []


def test_layer_wise_lr_with_bert_prefix_on_roberta():
    """Layer-wise learning-rate decay written for BERT (`bert.encoder.layer`) on RoBERTa."""
    text = textwrap.dedent("""\
        import torch
        from transformers import AutoModelForMaskedLM

        model = AutoModelForMaskedLM.from_pretrained("roberta-base")
        encoder = [p for n, p in model.named_parameters() if n.startswith("bert.encoder.layer")]
        rest = [p for n, p in model.named_parameters()
                if not n.startswith("bert.encoder.layer")]
        optimizer = torch.optim.AdamW([{"params": encoder, "lr": 2e-5},
                                       {"params": rest, "lr": 1e-4}])
    """)
    diagnostics = _lint(text, ROBERTA_MLM)
    assert _rules(diagnostics) == ["FZL101", "FZL101"]
    assert "did you mean 'roberta.encoder.layer'?" in diagnostics[0].message
    fixed = text.replace("bert.encoder.layer", "roberta.encoder.layer")
    assert _lint(fixed, ROBERTA_MLM) == []


# -- groups that select nothing -----------------------------------------------------------------------
LLAMA_CLS = ("LlamaForSequenceClassification", "LlamaConfig")


def test_head_group_from_computed_names_on_llama_is_empty():
    """Head names computed for BERT (`classifier.weight`, `classifier.bias`) on LLaMA, whose
    head is `score`: the head's learning rate applies to nothing."""
    text = textwrap.dedent("""\
        import torch
        from transformers import AutoModelForSequenceClassification

        model = AutoModelForSequenceClassification.from_pretrained("meta-llama/Llama-2-7b-hf")
        head_names = [f"classifier.{leaf}" for leaf in ("weight", "bias")]
        optimizer = torch.optim.AdamW([
            {"params": [p for n, p in model.named_parameters() if n not in head_names],
             "lr": 2e-5},
            {"params": [p for n, p in model.named_parameters() if n in head_names],
             "lr": 1e-3},
        ])
    """)
    diagnostics = _lint(text, LLAMA_CLS)
    assert _rules(diagnostics) == ["FZL208"]
    assert diagnostics[0].message == (
        "param group 1 is empty: the names it tests select none of the 291 parameters of "
        "`LlamaForSequenceClassification`, so its lr=0.001 applies to nothing; the model's "
        "head is `score`")
    assert diagnostics[0].span.start.line == 9
    fixed = text.replace('f"classifier.{leaf}"', 'f"score.{leaf}"')
    assert _lint(fixed, LLAMA_CLS) == []


def test_groups_emptied_by_freezing_or_by_a_reported_literal_are_left_alone(config_for):
    frozen = textwrap.dedent("""\
        import torch
        import torchvision

        model = torchvision.models.resnet50(weights="IMAGENET1K_V2")
        for p in model.parameters():
            p.requires_grad = False
        model.fc = torch.nn.Linear(2048, 10)
        optimizer = torch.optim.AdamW([
            {"params": [p for n, p in model.named_parameters()
                        if not n.startswith("fc.") and p.requires_grad], "lr": 1e-5},
            {"params": [p for n, p in model.named_parameters() if n.startswith("fc.")],
             "lr": 1e-3},
        ])
    """)
    assert lint(frozen, config_for("resnet50")) == []
    literal = frozen.replace('"fc."', '"classifier."')
    assert _rules(lint(literal, config_for("resnet50"))) == ["FZL101", "FZL101"]


def test_bert_list_on_resnet_names_its_batchnorms(config_for):
    """ResNet's norms are BatchNorm2d layers: bn1..bn3 and the shortcut's `downsample.1`."""
    text = _grouping(BERT_NO_DECAY).replace(
        "from transformers import AutoModelForCausalLM", "import torchvision").replace(
        'AutoModelForCausalLM.from_pretrained("gpt2")', 'torchvision.models.resnet50()')
    diagnostics = lint(text, config_for("resnet50"))
    assert _rules(diagnostics) == ["FZL101"]
    assert diagnostics[0].message.endswith(
        "`BatchNorm2d` is the class of its 53 normalization layers, not their name; they are "
        "named `bn1`, `bn2`, `bn3`, `downsample.1`")
    fixed = fix_text(text, config_for("resnet50"), unsafe=True).text
    assert ('no_decay = ["bias", "bn1.weight", "bn2.weight", "bn3.weight", '
            '"downsample.1.weight"]') in fixed
    assert lint(fixed, config_for("resnet50")) == []


def test_list_for_several_architectures_reports_only_what_it_misses_here():
    """DeepSpeed-Chat's list compared case-sensitively (as copies of it do): its OPT, LLaMA
    and BLOOM spellings match nothing on GPT-2 by design, since `ln_f.weight` is GPT-2's; what
    is wrong here is only that ln_1 and ln_2 are missed."""
    text = _grouping('["bias", "layer_norm.weight", "layernorm.weight", "norm.weight", '
                     '"ln_f.weight"]')
    diagnostics = _lint(text, GPT2)
    assert _rules(diagnostics) == ["FZL206"]
    assert "named `ln_1`, `ln_2`" in diagnostics[0].message


def test_a_frozen_norm_in_the_decay_group_is_quiet():
    """Weight decay on a parameter that does not train changes nothing."""
    text = _grouping(BERT_NO_DECAY, loader="AutoModelForMaskedLM", checkpoint="roberta-base")
    text = text.replace("no_decay = ", "for p in model.lm_head.parameters():\n"
                                       "    p.requires_grad = False\nno_decay = ")
    assert _rules(_lint(text, ROBERTA_MLM)) == ["FZL201"]  # frozen ones passed: info only
