"""Hugging Face ids the zoo's table does not list, resolved from the local cache without
network: `config.json` and the weight files' headers, checked against the zoo's classes.
The caches are made in tmp_path from real data: the shipped zoo's names at a layer count of
our choosing, or (where transformers at the zoo's version is importable) a model built live
on the meta device with a non-default configuration, its `config.json` and the keys
`save_pretrained` stores."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from freezelint.engine.lint import LintConfig, lint
from freezelint.models.hf_cache import (
    CacheError,
    cached_manifest,
    hub_cache,
    resolve_checkpoint,
)
from freezelint.models.manifest import TensorInfo
from freezelint.models.zoo import UNEVALUATED, load_zoo

LOOP = """
for name, param in model.named_parameters():
    param.requires_grad = name == {name!r}
"""


def _snapshot(root: Path, repo: str) -> Path:
    folder = root / ("models--" + repo.replace("/", "--"))
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("0123abcd")
    snapshot = folder / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    return snapshot


def _safetensors(path: Path, tensors: list[TensorInfo]) -> None:
    """A safetensors file holding only its header (every tensor empty at offset 0)."""
    header = {t.name: {"dtype": "BF16", "shape": list(t.shape), "data_offsets": [0, 0]}
              for t in tensors}
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw)


def _saved(model_id: str, kwargs: dict[str, Any]) -> list[TensorInfo]:
    """What `save_pretrained` stores for a zoo model: its state dict, each tied tensor once."""
    manifest = load_zoo(model_id, kwargs)
    tied = {name for name, _ in manifest.tied}
    return [t for t in manifest.state_dict_tensors() if t.name not in tied]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    return tmp_path


def _bert(cache: Path, repo: str = "my-org/bert-4l", layers: int = 4) -> None:
    snapshot = _snapshot(cache, repo)
    (snapshot / "config.json").write_text(json.dumps(
        {"model_type": "bert", "architectures": ["BertForMaskedLM"],
         "num_hidden_layers": layers, "tie_word_embeddings": True}))
    _safetensors(snapshot / "model.safetensors",
                 _saved("transformers/BertForMaskedLM", {"num_hidden_layers": layers}))


def _lint(code: str, name: str) -> list:
    return lint(textwrap.dedent(code) + textwrap.dedent(LOOP.format(name=name)),
                LintConfig(prefilter=True))


def test_the_cache_folder_follows_huggingface_hub(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hub_cache() == tmp_path / "xdg" / "huggingface" / "hub"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert hub_cache() == tmp_path / "home" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert hub_cache() == tmp_path / "hub"


def test_the_class_the_checkpoint_was_saved_from_is_exact(cache: Path) -> None:
    _bert(cache)
    model_id = resolve_checkpoint("my-org/bert-4l", "AutoModelForMaskedLM", None)
    assert model_id == "hf-cache:my-org/bert-4l:BertForMaskedLM"
    manifest = load_zoo(model_id)
    zoo = load_zoo("transformers/BertForMaskedLM", {"num_hidden_layers": 4})
    assert manifest.parameter_names == zoo.parameter_names
    assert manifest.module_paths == zoo.module_paths
    assert manifest.tied == zoo.tied  # the decoder shares the word embeddings
    assert not manifest.holes
    assert "bert.encoder.layer.3.output.dense.weight" in manifest.parameter_names
    assert "bert.encoder.layer.4.output.dense.weight" not in manifest.all_known_names()
    assert manifest.meta["library"] == "transformers" and manifest.meta["model_type"] == "bert"


def test_another_head_keeps_the_checkpoint_body_and_leaves_the_fresh_head_unknown(
        cache: Path) -> None:
    _bert(cache)
    base = load_zoo(resolve_checkpoint("my-org/bert-4l", "AutoModel", None) or "")
    assert base.name == "hf-cache:my-org/bert-4l:BertModel"
    # BertModel's names lose the checkpoint's `bert.` prefix; its pooler is not stored.
    assert "encoder.layer.3.attention.self.query.weight" in base.parameter_names
    assert base.holes == ("pooler",)
    classifier = load_zoo(resolve_checkpoint(
        "my-org/bert-4l", "AutoModelForSequenceClassification", None) or "", {"num_labels": 3})
    assert classifier.holes == ("bert.pooler", "classifier")
    assert classifier.has_module("classifier")
    assert not any(p.name.startswith("classifier.") for p in classifier.parameters)


@pytest.mark.parametrize("code", [
    """
    from transformers import AutoModelForMaskedLM
    model = AutoModelForMaskedLM.from_pretrained("my-org/bert-4l")
    """,
    """
    from transformers import AutoConfig, AutoModelForMaskedLM
    config = AutoConfig.from_pretrained("my-org/bert-4l")
    model = AutoModelForMaskedLM.from_config(config)
    """,
    """
    import transformers
    model = transformers.BertForMaskedLM.from_pretrained("my-org/bert-4l")
    """,
], ids=["auto", "from_config", "class"])
def test_a_wrong_name_is_reported_with_the_right_one_and_the_right_one_is_quiet(
        cache: Path, code: str) -> None:
    _bert(cache)
    right = "bert.encoder.layer.3.output.dense.weight"
    assert "FZL101" not in [d.rule for d in _lint(code, right)]
    found = [d for d in _lint(code, "bert.encoder.layers.3.output.dense.weight")
             if d.rule == "FZL101"]
    assert len(found) == 1, found
    assert f"did you mean '{right}'" in found[0].message
    assert "`hf-cache:my-org/bert-4l:BertForMaskedLM`" in found[0].message
    # A name the layer count rules out: layer 4 of a 4-layer checkpoint.
    found = [d for d in _lint(code, "bert.encoder.layer.4.output.dense.weight")
             if d.rule == "FZL101"]
    assert len(found) == 1, found
    # The tied decoder weight is a real name, though named_parameters() lists it once.
    assert "FZL101" not in [d.rule for d in _lint(code, "cls.predictions.decoder.weight")]


def test_a_fresh_head_leaves_loops_over_the_whole_model_unknown(cache: Path) -> None:
    """The head `from_pretrained` adds is not in the checkpoint: its shapes are not known,
    so it is a hole, and a loop over every parameter name says nothing."""
    _bert(cache)
    code = """
    from transformers import AutoModelForSequenceClassification
    model = AutoModelForSequenceClassification.from_pretrained("my-org/bert-4l", num_labels=2)
    """
    for name in ("bert.encoder.layer.3.output.dense.weight", "bert.encoder.layers.3.x"):
        assert "FZL101" not in [d.rule for d in _lint(code, name)]


def test_shapes_come_from_the_checkpoint(cache: Path) -> None:
    snapshot = _snapshot(cache, "me/llama-small")
    (snapshot / "config.json").write_text(json.dumps(
        {"model_type": "llama", "architectures": ["LlamaForCausalLM"],
         "num_hidden_layers": 2, "hidden_size": 64, "vocab_size": 1000}))
    tensors = []
    for t in _saved("transformers/LlamaForCausalLM", {"num_hidden_layers": 2}):
        shape = tuple(64 if s == 4096 else 1000 if s == 32000 else 128 if s == 11008 else s
                      for s in t.shape)
        tensors.append(TensorInfo(t.name, shape))
    index = {"metadata": {}, "weight_map": {}}
    for part, chunk in enumerate((tensors[:10], tensors[10:])):
        name = f"model-0000{part + 1}-of-00002.safetensors"
        _safetensors(snapshot / name, chunk)
        index["weight_map"].update({t.name: name for t in chunk})
    (snapshot / "model.safetensors.index.json").write_text(json.dumps(index))
    manifest = load_zoo(resolve_checkpoint("me/llama-small", "AutoModelForCausalLM", None) or "")
    shapes = {p.name: p.shape for p in manifest.parameters}
    assert shapes["model.embed_tokens.weight"] == (1000, 64)
    assert shapes["lm_head.weight"] == (1000, 64)
    assert manifest.module("lm_head").attrs == {"in_features": 64, "out_features": 1000}
    classifier = load_zoo("hf-cache:me/llama-small:LlamaForSequenceClassification")
    assert classifier.holes == ("score",)
    assert {p.name: p.shape for p in classifier.parameters}["model.norm.weight"] == (64,)


@pytest.mark.parametrize(("config", "tensors", "reason"), [
    # A key the zoo's class does not have (a configuration value the zoo did not build).
    ({"num_hidden_layers": 4}, lambda t: [*t, TensorInfo("bert.extra.weight", (2,))],
     "1 unexpected"),
    # A key missing (the layers' count disagree inside the checkpoint).
    ({"num_hidden_layers": 4}, lambda t: [x for x in t if "layer.1.output.dense" not in x.name],
     "missing"),
    # The configuration states another layer count than the stored keys show.
    ({"num_hidden_layers": 6}, lambda t: t, "layer count"),
    # Untied where the zoo's class ties: not followed.
    ({"num_hidden_layers": 4, "tie_word_embeddings": False}, lambda t: t, "tie_word_embeddings"),
    # Tied where the zoo's class ties nothing (the names are the saved class's, LLaMA's
    # lm_head.weight would be tied to an embedding the zoo does not name): not followed.
    ({"model_type": "llama", "architectures": ["LlamaForCausalLM"], "num_hidden_layers": 2,
      "tie_word_embeddings": True},
     lambda t: _saved("transformers/LlamaForCausalLM", {"num_hidden_layers": 2}),
     "ties nothing"),
    # No class the checkpoint was saved from.
    ({"num_hidden_layers": 4, "architectures": None}, lambda t: t, "architectures"),
])
def test_a_checkpoint_the_zoo_does_not_describe_exactly_is_unknown(
        cache: Path, config: dict, tensors: Any, reason: str) -> None:
    snapshot = _snapshot(cache, "my-org/odd")
    doc = {"model_type": "bert", "architectures": ["BertForMaskedLM"], **config}
    (snapshot / "config.json").write_text(json.dumps(doc))
    _safetensors(snapshot / "model.safetensors",
                 tensors(_saved("transformers/BertForMaskedLM", {"num_hidden_layers": 4})))
    saved = str(doc["architectures"][0]) if doc["architectures"] else "BertForMaskedLM"
    auto = "AutoModelForCausalLM" if "Causal" in saved else "AutoModelForMaskedLM"
    assert resolve_checkpoint("my-org/odd", auto, None) is None
    with pytest.raises(CacheError, match=reason):
        cached_manifest(f"hf-cache:my-org/odd:{saved}")
    code = f"""
    from transformers import {auto}
    model = {auto}.from_pretrained("my-org/odd")
    """
    assert "FZL101" not in [d.rule for d in _lint(code, "no.such.name")]


def test_only_a_configuration_or_nothing_cached_is_unknown(cache: Path) -> None:
    snapshot = _snapshot(cache, "my-org/config-only")
    (snapshot / "config.json").write_text(json.dumps(
        {"model_type": "llama", "architectures": ["LlamaForCausalLM"]}))
    assert resolve_checkpoint("my-org/config-only", "AutoModelForCausalLM", None) is None
    with pytest.raises(CacheError, match="only the configuration"):
        cached_manifest("hf-cache:my-org/config-only:LlamaForCausalLM")
    assert resolve_checkpoint("my-org/not-cached", "AutoModel", None) is None
    assert resolve_checkpoint("../../etc", "AutoModel", None) is None


def test_arguments_apply_exactly_or_make_the_model_unknown(cache: Path) -> None:
    _bert(cache, "my-org/bert-cls", 2)
    snapshot = cache / "models--my-org--bert-cls" / "snapshots" / "0123abcd"
    (snapshot / "config.json").write_text(json.dumps(
        {"model_type": "bert", "architectures": ["BertForSequenceClassification"],
         "num_hidden_layers": 2, "id2label": {"0": "a", "1": "b", "2": "c"}}))
    _safetensors(snapshot / "model.safetensors", _saved(
        "transformers/BertForSequenceClassification", {"num_hidden_layers": 2,
                                                       "num_labels": 3}))
    model_id = "hf-cache:my-org/bert-cls:BertForSequenceClassification"
    assert {p.name: p.shape for p in load_zoo(model_id).parameters}["classifier.weight"] == \
        (3, 768)
    five = load_zoo(model_id, {"num_labels": 5})
    assert {p.name: p.shape for p in five.parameters}["classifier.weight"] == (5, 768)
    assert five.module("classifier").attrs["out_features"] == 5
    assert load_zoo(model_id, {"num_labels": UNEVALUATED}).holes == ("classifier",)
    assert load_zoo(model_id, {"num_hidden_layers": 2}).parameter_names == \
        load_zoo(model_id).parameter_names
    for kwargs in ({"num_hidden_layers": 3}, {"add_pooling_layer": False}):
        with pytest.raises(ValueError):
            load_zoo(model_id, kwargs)


def test_a_shipped_id_still_comes_from_the_table_and_must_agree(cache: Path) -> None:
    (_snapshot(cache, "roberta-base") / "config.json").write_text(
        json.dumps({"model_type": "roberta"}))
    (_snapshot(cache, "distilbert-base-uncased") / "config.json").write_text(
        json.dumps({"model_type": "bert"}))
    assert resolve_checkpoint("roberta-base", "AutoModel", None) == "roberta-base:RobertaModel"
    assert resolve_checkpoint("distilbert-base-uncased", "AutoModel", None) is None


@pytest.mark.parametrize("hostile", ["huge-length", "deep-header", "deep-config",
                                     "huge-config", "index-escape", "not-json"])
def test_hostile_cache_files_give_a_clear_message_not_a_traceback(
        cache: Path, hostile: str) -> None:
    snapshot = _snapshot(cache, "evil/model")
    config: Any = {"model_type": "bert", "architectures": ["BertForMaskedLM"]}
    weights = snapshot / "model.safetensors"
    _safetensors(weights, _saved("transformers/BertForMaskedLM", {}))
    if hostile == "huge-length":
        weights.write_bytes(struct.pack("<Q", 2**62) + b"{}")
    elif hostile == "deep-header":
        raw = b"[" * 200_000 + b"]" * 200_000
        weights.write_bytes(struct.pack("<Q", len(raw)) + raw)
    elif hostile == "deep-config":
        config = json.loads("[" * 100 + "]" * 100)
    elif hostile == "index-escape":
        weights.unlink()
        (snapshot / "model.safetensors.index.json").write_text(json.dumps(
            {"weight_map": {"a": "../../../../etc/passwd"}}))
    text = json.dumps(config)
    if hostile == "huge-config":
        text = json.dumps({**config, "pad": "x" * (9 * 2**20)})
    if hostile == "not-json":
        text = "{not json"
    (snapshot / "config.json").write_text(text)
    assert resolve_checkpoint("evil/model", "AutoModelForMaskedLM", None) is None
    if hostile in {"deep-config", "huge-config", "not-json"}:
        return  # no configuration: not even a model type, so no cache id at all
    with pytest.raises(CacheError) as error:
        cached_manifest("hf-cache:evil/model:BertForMaskedLM")
    assert "\n" not in str(error.value) and "evil/model" in str(error.value)
    # From the command line the message is one line, and nothing is imported from torch.
    run = subprocess.run([sys.executable, "-m", "freezelint", "params", "--model",
                          "evil/model"], capture_output=True, text=True, timeout=60,
                         env={"HF_HUB_CACHE": str(cache), "PATH": "/usr/bin:/bin"})
    assert run.returncode != 0
    assert "Traceback" not in run.stderr and "evil/model" in run.stderr, run.stderr


@pytest.mark.torch
@pytest.mark.parametrize("saved", ["safetensors", "sharded", "pytorch_model.bin"])
def test_a_model_built_live_with_a_non_default_configuration(cache: Path, saved: str) -> None:
    """transformers at the zoo's version builds a small GPT-2 and saves it into the cache's
    snapshot: with `save_pretrained` (`model.safetensors`, or shards and their index; the
    tied `lm_head.weight` stored once), or as transformers 4 wrote `pytorch_model.bin`
    (`torch.save` of the state dict: both tied names). The resolved manifest equals the live
    model's names and shapes."""
    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    import importlib.metadata

    if importlib.metadata.version("transformers") != load_zoo(
            "transformers/GPT2LMHeadModel").meta["versions"]["transformers"]:
        pytest.skip("transformers at another version than the zoo's")
    config = transformers.GPT2Config(n_layer=3, n_embd=96, n_head=4, vocab_size=500,
                                     n_positions=128)
    model = transformers.GPT2LMHeadModel(config)
    snapshot = _snapshot(cache, "someone/gpt2-tiny")
    if saved == "pytorch_model.bin":
        model.config.architectures = ["GPT2LMHeadModel"]
        model.config.save_pretrained(snapshot)
        torch.save(model.state_dict(), snapshot / "pytorch_model.bin")
    else:
        model.save_pretrained(snapshot, **({"max_shard_size": "200KB"}
                                           if saved == "sharded" else {}))
        assert (snapshot / "model.safetensors.index.json").exists() == (saved == "sharded")
    manifest = load_zoo(resolve_checkpoint("someone/gpt2-tiny", "AutoModelForCausalLM", None)
                        or "")
    live = [(n, tuple(p.shape)) for n, p in model.named_parameters()]
    assert [(p.name, p.shape) for p in manifest.parameters] == live
    assert manifest.tied == (("lm_head.weight", "transformer.wte.weight"),)
    assert manifest.state_dict_keys == list(model.state_dict())
    code = """
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained("someone/gpt2-tiny")
    """
    assert "FZL101" not in [d.rule for d in _lint(code, "transformer.h.2.mlp.c_fc.weight")]
    found = [d for d in _lint(code, "transformer.h.3.mlp.c_fc.weight") if d.rule == "FZL101"]
    assert len(found) == 1 and "did you mean 'transformer.h.2.mlp.c_fc.weight'" in \
        found[0].message, found


@pytest.mark.parametrize("arguments", ['revision="v2.0"', 'cache_dir="/data/hf"',
                                       'subfolder="text_encoder"'])
def test_another_revision_cache_or_subfolder_is_not_the_cached_snapshot(
        cache: Path, arguments: str) -> None:
    _bert(cache)
    code = f"""
    from transformers import AutoModelForMaskedLM
    model = AutoModelForMaskedLM.from_pretrained("my-org/bert-4l", {arguments})
    """
    assert "FZL101" not in [d.rule for d in _lint(code, "bert.encoder.layers.3.x")]
    same = code.replace(arguments, 'revision="main"')
    assert "FZL101" in [d.rule for d in _lint(same, "bert.encoder.layers.3.x")]
