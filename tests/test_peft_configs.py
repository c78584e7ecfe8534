"""PEFT configs checked against the real modules of the model they adapt (issue 16):
`target_modules` and `modules_to_save` written for one architecture and applied to another,
matched as PEFT 0.21 matches them (list entries by name or dotted suffix, strings as
whole-name regular expressions, modules_to_save by plain suffix, SEQ_CLS heads added by
PEFT itself). Each reported script has a corrected twin that is quiet.

BERT comes from the shipped zoo; GPT-2 and LLaMA are built live on the meta device.
"""

from __future__ import annotations

import textwrap

from live_models import live_manifest

from freezelint.engine.lint import LintConfig, lint

GPT2 = ("GPT2LMHeadModel", "GPT2Config")
LLAMA_CLS = ("LlamaForSequenceClassification", "LlamaConfig")
BERT = "transformers/BertForSequenceClassification"


def _script(config: str, loader: str = "AutoModelForSequenceClassification",
            checkpoint: str = "bert-base-uncased") -> str:
    return textwrap.dedent(f"""\
        from peft import LoraConfig, get_peft_model
        from transformers import {loader}

        model = {loader}.from_pretrained("{checkpoint}")
        config = LoraConfig({config})
        model = get_peft_model(model, config)
    """)


def _rules(diagnostics: list) -> list[str]:
    return sorted(d.rule for d in diagnostics)


def _live(text: str, spec: tuple[str, str]) -> list:
    return lint(text, LintConfig(model=live_manifest(*spec)))


# -- target_modules ----------------------------------------------------------------------------------
def test_llama_targets_on_bert_name_bert_projections(config_for):
    text = _script('r=8, target_modules=["q_proj", "v_proj"], task_type="SEQ_CLS"')
    diagnostics = lint(text, config_for(BERT))
    assert _rules(diagnostics) == ["FZL401", "FZL401"]
    first, second = sorted(diagnostics, key=lambda d: d.span.start.column)
    assert first.message == ("'q_proj' names no module of "
                             "`transformers/BertForSequenceClassification`, so PEFT adapts "
                             "nothing there; its layers for that role are named `query`")
    assert second.message.endswith("its layers for that role are named `value`")
    fixed = _script('r=8, target_modules=["query", "value"], task_type="SEQ_CLS"')
    assert lint(fixed, config_for(BERT)) == []


def test_llama_targets_on_gpt2_name_the_fused_projection():
    text = _script('r=8, target_modules=["q_proj", "v_proj"]', "AutoModelForCausalLM", "gpt2")
    diagnostics = _live(text, GPT2)
    assert _rules(diagnostics) == ["FZL401", "FZL401"]
    assert all(d.message.endswith("its attention computes query, key and value in one layer, "
                                  "`c_attn`") for d in diagnostics)
    fixed = _script('r=8, target_modules=["c_attn"]', "AutoModelForCausalLM", "gpt2")
    assert _live(fixed, GPT2) == []


def test_targets_through_a_variable_point_at_the_entry(config_for):
    text = textwrap.dedent("""\
        from peft import LoraConfig, get_peft_model
        from transformers import AutoModelForSequenceClassification

        TARGETS = ["query", "v_proj"]
        model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
        model = get_peft_model(model, LoraConfig(r=8, target_modules=TARGETS))
    """)
    diagnostics = lint(text, config_for(BERT))
    assert _rules(diagnostics) == ["FZL401"]
    assert (diagnostics[0].span.start.line, diagnostics[0].span.start.column) == (4, 20)


def test_regex_target_must_match_whole_names(config_for):
    """A string is a regular expression PEFT matches against whole module names."""
    text = _script(r'r=8, target_modules=r".*\.(q_proj|v_proj)"')
    diagnostics = lint(text, config_for(BERT))
    assert _rules(diagnostics) == ["FZL401"]
    assert diagnostics[0].message.startswith(
        r"the pattern '.*\.(q_proj|v_proj)' matches no module name of "
        "`transformers/BertForSequenceClassification`")
    fixed = _script(r'r=8, target_modules=r".*\.(query|value)"')
    assert lint(fixed, config_for(BERT)) == []
    assert lint(_script('r=8, target_modules="all-linear"'), config_for(BERT)) == []


def test_a_target_lora_cannot_wrap(config_for):
    text = _script('r=8, target_modules=["query", "value", "LayerNorm"]')
    diagnostics = lint(text, config_for(BERT))
    assert _rules(diagnostics) == ["FZL402"]
    assert diagnostics[0].message.startswith(
        "'LayerNorm' reaches 25 modules of `transformers/BertForSequenceClassification` that "
        "LoRA cannot wrap (LayerNorm: `bert.embeddings.LayerNorm`")
    block = _script('r=8, target_modules=["query", "attention"]')
    assert _rules(lint(block, config_for(BERT))) == ["FZL402"]
    fixed = _script('r=8, target_modules=["query", "value"], modules_to_save=["LayerNorm"]')
    assert lint(fixed, config_for(BERT)) == []


def test_unknown_targets_are_not_checked(config_for):
    text = textwrap.dedent("""\
        import sys

        from peft import LoraConfig, get_peft_model
        from transformers import AutoModelForSequenceClassification

        model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
        model = get_peft_model(model, LoraConfig(target_modules=sys.argv[1:]))
    """)
    assert lint(text, config_for(BERT)) == []


# -- modules_to_save and the task's head -----------------------------------------------------------
def test_bert_head_name_on_llama_classifier():
    """LLaMA's classification head is `score`; without task_type PEFT adds no head itself."""
    text = _script('r=8, target_modules=["q_proj", "v_proj"], modules_to_save=["classifier"]',
                   checkpoint="meta-llama/Llama-2-7b-hf")
    diagnostics = _live(text, LLAMA_CLS)
    assert _rules(diagnostics) == ["FZL403"]
    assert diagnostics[0].message == (
        "'classifier' names no module of `LlamaForSequenceClassification`: PEFT saves and "
        "trains nothing there, and the model's head `score` is in no entry, so it stays "
        "frozen; did you mean 'score'?")
    fixed = text.replace('["classifier"]', '["score"]')
    assert _live(fixed, LLAMA_CLS) == []


def test_seq_cls_task_saves_classifier_and_score_itself():
    text = _script('r=8, target_modules=["q_proj", "v_proj"], modules_to_save=["classifier"], '
                   'task_type="SEQ_CLS"', checkpoint="meta-llama/Llama-2-7b-hf")
    assert _live(text, LLAMA_CLS) == []


def test_list_append_passes_none():
    """PEFT issue 577: `modules_to_save=lora_target_modules.append("score")`."""
    text = textwrap.dedent("""\
        from peft import LoraConfig, TaskType

        lora_target_modules = ["q_proj", "v_proj"]
        config = LoraConfig(r=8, target_modules=lora_target_modules, task_type=TaskType.SEQ_CLS,
                            modules_to_save=lora_target_modules.append("score"))
    """)
    diagnostics = lint(text)
    assert _rules(diagnostics) == ["FZL404"]
    assert diagnostics[0].message.startswith("`append` changes the list in place and returns "
                                             "None, so `modules_to_save` is None here")
    fixed = text.replace('lora_target_modules.append("score")', '["score"]')
    assert lint(fixed) == []


def test_lists_written_for_several_architectures_are_quiet(config_for):
    """Entries for other architectures' spelling of a role this model's entries fill, as
    fine-tuning frameworks write them to support many models."""
    text = _script('r=8, target_modules=["q_proj", "v_proj", "query", "value"], '
                   'modules_to_save=["classifier", "score"]')
    assert lint(text, config_for(BERT)) == []


def test_hover_shows_what_each_entry_reaches(config_for):
    """The editor's hover on a config entry lists the real modules PEFT adapts with it."""
    from freezelint.engine.lint import analyze
    from freezelint.lsp.hover import describe_match

    text = _script('r=8, target_modules=["query", "v_proj"], modules_to_save=["classifier"]')
    manifest = config_for(BERT).model
    matches = {m.literal: m for m in analyze(text, config_for(BERT)).name_matches}
    query = describe_match(matches["query"], manifest)
    assert query.startswith("`'query'` matches 12 of the 230 modules of "
                            "`transformers/BertForSequenceClassification`")
    assert "- `bert.encoder.layer.0.attention.self.query` (Linear)" in query
    assert describe_match(matches["v_proj"], manifest).startswith("`'v_proj'` matches none")
    assert "- `classifier` (Linear)" in describe_match(matches["classifier"], manifest)


def test_completion_offers_layer_names_in_a_peft_list(config_for):
    """Inside `target_modules=["...` the editor offers the names layers are known by."""
    from lsprotocol import types
    from pygls.workspace import PositionCodec

    from freezelint.lsp.completion import complete

    line = 'config = LoraConfig(r=8, target_modules=["q'
    codec = PositionCodec(types.PositionEncodingKind.Utf16)
    result = complete(line, 4, len(line), codec, [config_for(BERT).model])
    assert result is not None
    items = {item.label: item.detail for item in result.items}
    assert items == {"query": "Linear x12 · bert.encoder.layer.0.attention.self.query"}
    everything = complete(line[:-1], 4, len(line) - 1, codec, [config_for(BERT).model])
    assert everything is not None
    labels = [item.label for item in everything.items]
    assert {"query", "key", "value", "dense", "LayerNorm", "classifier"} <= set(labels)
    assert not any("." in label for label in labels)
