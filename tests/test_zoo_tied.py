"""Tied weights in the zoo: `lm_head.weight` that is `transformer.wte.weight`.

`named_parameters()` lists a shared tensor once, under its first name; the zoo records the
other names (`Manifest.tied`, measured on the live models: Parameters that are the same
object), so that rules neither call `lm_head.weight` missing nor count it twice, and
`state_dict()` has both keys as in torch. Against live builds where transformers at the
zoo's version is importable (tests/test_zoo_live.py compares `tied` over its whole sample)."""

from __future__ import annotations

import importlib.metadata
import textwrap

import pytest

from freezelint.engine.lint import LintConfig, lint
from freezelint.models.zoo import load_zoo

# (zoo id, arguments, a tied pair it must record)
TIED = [
    ("transformers/GPT2LMHeadModel", {}, ("lm_head.weight", "transformer.wte.weight")),
    ("gpt2-medium:GPT2LMHeadModel", {}, ("lm_head.weight", "transformer.wte.weight")),
    ("transformers/BertForMaskedLM", {"num_hidden_layers": 2},
     ("cls.predictions.decoder.weight", "bert.embeddings.word_embeddings.weight")),
    ("transformers/T5ForConditionalGeneration", {},
     ("lm_head.weight", "shared.weight")),
    ("google/flan-t5-base:T5ForConditionalGeneration", {},
     ("encoder.embed_tokens.weight", "shared.weight")),
    ("transformers/RobertaForMaskedLM", {},
     ("lm_head.decoder.weight", "roberta.embeddings.word_embeddings.weight")),
]


@pytest.mark.parametrize(("model_id", "kwargs", "pair"), TIED, ids=[t[0] for t in TIED])
def test_tied_names_are_recorded_once_and_known(model_id: str, kwargs: dict,
                                                pair: tuple[str, str]) -> None:
    manifest = load_zoo(model_id, kwargs)
    name, listed = pair
    assert pair in manifest.tied
    assert name not in manifest.parameter_names  # named_parameters() lists it once
    assert listed in manifest.parameter_names
    assert name in manifest.all_known_names()
    keys = manifest.state_dict_keys
    assert name in keys and listed in keys and len(keys) == len(set(keys))
    owner = name.rpartition(".")[0]
    assert listed in [p.name for p in manifest.parameters_under(owner)]


def test_untied_configurations_have_their_own_head() -> None:
    # LLaMA's configuration does not tie: lm_head.weight is a parameter of its own.
    for model_id in ("transformers/LlamaForCausalLM", "meta-llama/Llama-2-13b-hf:LlamaForCausalLM"):
        manifest = load_zoo(model_id)
        assert not manifest.tied
        assert "lm_head.weight" in manifest.parameter_names


def test_a_tied_name_is_not_called_missing() -> None:
    code = textwrap.dedent("""
    from transformers import GPT2LMHeadModel
    model = GPT2LMHeadModel.from_pretrained("gpt2")
    for name, param in model.named_parameters():
        param.requires_grad = name == {name!r}
    model.lm_head.weight.requires_grad = True
    """)
    rules = [d.rule for d in lint(code.format(name="lm_head.weight"), LintConfig())]
    assert "FZL101" not in rules and "FZL109" not in rules, rules
    found = [d for d in lint(code.format(name="lm_head.weights"), LintConfig())
             if d.rule == "FZL101"]
    assert len(found) == 1, found


@pytest.mark.torch
@pytest.mark.parametrize(("model_id", "kwargs", "pair"), TIED, ids=[t[0] for t in TIED])
def test_tied_pairs_equal_the_live_model(model_id: str, kwargs: dict,
                                         pair: tuple[str, str]) -> None:
    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    shipped = load_zoo(model_id, kwargs)
    if importlib.metadata.version("transformers") != shipped.meta["versions"]["transformers"]:
        pytest.skip("transformers at another version than the zoo's")
    cls = getattr(transformers, model_id.rpartition(":")[2].removeprefix("transformers/"))
    if ":" in model_id:
        from freezelint.models.zoo_hf_ids import HF_IDS

        model_type, values = HF_IDS[model_id.rpartition(":")[0]]
    else:
        model_type, values = shipped.meta["model_type"], {}
    with torch.device("meta"):
        model = cls(transformers.CONFIG_MAPPING[model_type](**{**values, **kwargs}))
    first: dict[int, str] = {}
    live = tuple((n, first[id(p)]) for n, p in model.named_parameters(remove_duplicate=False)
                 if first.setdefault(id(p), n) != n)
    assert shipped.tied == live
    assert shipped.state_dict_keys == list(model.state_dict())
    assert shipped.parameter_names == [n for n, _ in model.named_parameters()]


def test_a_module_registered_twice_is_the_one_listed() -> None:
    """CoaT registers its convolutional position encodings twice (`cpe1` and inside each
    serial block): named_modules() lists them once, and the second path is the same module."""
    manifest = load_zoo("timm/coat_lite_mini")
    assert ("serial_blocks1.0.cpe.proj.weight", "cpe1.proj.weight") in manifest.tied
    assert not manifest.has_module("serial_blocks1.0.cpe")
    assert manifest.shared_module("serial_blocks1.0.cpe") == "cpe1"
    assert manifest.shared_module("serial_blocks1.0") is None  # listed, with its own weights
    code = textwrap.dedent("""
    import timm
    model = timm.create_model("coat_lite_mini")
    model.serial_blocks1[0].cpe.requires_grad_(False)
    for name, param in model.named_parameters():
        param.requires_grad = name == {name!r}
    """)
    rules = [d.rule for d in lint(code.format(name="cpe1.proj.weight"), LintConfig())]
    assert "FZL109" not in rules and "FZL101" not in rules, rules
