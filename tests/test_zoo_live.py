"""A wide sample of the shipped zoo against live meta-device builds of the real libraries.

The zoo was generated with torch 2.14.1, torchvision 0.29.1, timm 1.0.31 and transformers
5.24.0 (recorded in every shard). torchvision and timm do not import beside the project's
torch, so these run in the generation environment:

    /work/zoovenv/bin/python -m pytest -q tests/test_zoo_live.py

and are skipped where a library is missing, or installed at another version than the one
the zoo was made from (a different release may rightly build different names). CI compares
every 15th model; FREEZELINT_ZOO_SAMPLE_EVERY=1 compares them all. Every model
of the sample is built independently of the generator: the library's own entry point, the
configuration class's defaults or the Hugging Face id's configuration.
"""

from __future__ import annotations

import importlib.metadata
import os
from dataclasses import replace
from typing import Any

import pytest

from freezelint.models.manifest import Manifest
from freezelint.models.zoo import load_zoo, zoo_entries

ENTRIES = {e["id"]: e for e in zoo_entries()}
# Every Nth model of each library, in index order (FREEZELINT_ZOO_SAMPLE_EVERY=1: all).
SAMPLE_EVERY = int(os.environ.get("FREEZELINT_ZOO_SAMPLE_EVERY", "15"))


def _sample(library: str, hf: bool = False) -> list[str]:
    ids = [i for i, e in ENTRIES.items()
           if e["library"] == library and (":" in i) == hf]
    return ids[::SAMPLE_EVERY]


def _full(manifest: Manifest) -> tuple[Any, ...]:
    return (manifest.parameters, manifest.buffers,
            [(m.path, m.type, m.attrs) for m in manifest.modules], manifest.tied)


def _tied(module: Any) -> tuple[tuple[str, str], ...]:
    """Names under which named_parameters() does not list a Parameter it listed before."""
    first: dict[int, str] = {}
    return tuple((name, first[id(p)])
                 for name, p in module.named_parameters(remove_duplicate=False)
                 if first.setdefault(id(p), name) != name)


def _library(name: str, shipped: Manifest) -> Any:
    module = pytest.importorskip(name)
    wanted = shipped.meta["versions"].get(name)
    if importlib.metadata.version(name) != wanted:
        pytest.skip(f"{name} {importlib.metadata.version(name)} installed; zoo made with {wanted}")
    return module


def _build(build: Any) -> Manifest:
    torch = pytest.importorskip("torch")
    from freezelint.models.introspect import manifest_from_module

    try:
        with torch.device("meta"):
            module = build()
    except NotImplementedError:  # reads tensor values while building (RegNet): on the CPU
        module = build()
    except ImportError as error:  # a class that needs another library (timm, PIL)
        pytest.skip(f"needs a library that is not installed: {str(error).strip()[:80]}")
    return replace(manifest_from_module(module, name="live", source="zoo"), tied=_tied(module))


@pytest.mark.torch
@pytest.mark.parametrize("model_id", _sample("torchvision"))
def test_torchvision_sample(model_id: str) -> None:
    # Builders with a backbone load its ImageNet weights by default: built without them here.
    kwargs = {"weights_backbone": None} if _variants(model_id).get("weights_backbone=None") \
        is not None else {}
    shipped = load_zoo(model_id, kwargs)
    tv = _library("torchvision", shipped)
    live = _build(lambda: tv.models.get_model(model_id, weights=None, **kwargs))
    assert _full(shipped) == _full(live)


@pytest.mark.torch
@pytest.mark.parametrize("model_id", _sample("timm"))
def test_timm_sample(model_id: str) -> None:
    shipped = load_zoo(model_id)
    timm = _library("timm", shipped)
    live = _build(lambda: timm.create_model(model_id.removeprefix("timm/"), pretrained=False))
    assert _full(shipped) == _full(live)


@pytest.mark.torch
@pytest.mark.parametrize("model_id", _sample("transformers"))
def test_transformers_sample(model_id: str) -> None:
    shipped = load_zoo(model_id)
    transformers = _library("transformers", shipped)
    cls = getattr(transformers, model_id.removeprefix("transformers/"))
    config = transformers.CONFIG_MAPPING[shipped.meta["model_type"]]
    live = _build(lambda: cls(config()))
    assert _full(shipped) == _full(live)


@pytest.mark.torch
@pytest.mark.parametrize("model_id", _sample("transformers", hf=True))
def test_hugging_face_id_sample(model_id: str) -> None:
    from freezelint.models.zoo_hf_ids import HF_IDS

    shipped = load_zoo(model_id)
    transformers = _library("transformers", shipped)
    hf_id, _, cls_name = model_id.rpartition(":")
    model_type, values = HF_IDS[hf_id]
    cls = getattr(transformers, cls_name)
    live = _build(lambda: cls(transformers.CONFIG_MAPPING[model_type](**values)))
    assert _full(shipped) == _full(live)


@pytest.mark.torch
@pytest.mark.parametrize(("model_id", "kwargs", "live_kwargs"), [
    ("resnet152", {"num_classes": 10}, {"num_classes": 10}),
    ("fasterrcnn_resnet50_fpn", {"weights_backbone": None, "num_classes": 3},
     {"weights_backbone": None, "num_classes": 3}),
    ("deeplabv3_resnet101", {"num_classes": 5, "aux_loss": True},
     {"num_classes": 5, "aux_loss": True, "weights_backbone": None}),
    ("inception_v3", {"aux_logits": False}, {"aux_logits": False, "init_weights": False}),
    ("googlenet", {"aux_logits": False}, {"aux_logits": False, "init_weights": False}),
])
def test_torchvision_arguments(model_id: str, kwargs: dict[str, Any],
                               live_kwargs: dict[str, Any]) -> None:
    try:
        shipped = load_zoo(model_id, kwargs)
    except ValueError as error:
        pytest.fail(f"the zoo refuses {kwargs}: {error}")
    tv = _library("torchvision", shipped)
    live = _build(lambda: tv.models.get_model(model_id, weights=None, **live_kwargs))
    assert _full(shipped) == _full(live)


# The timm arguments built as variants (zoo_generator._timm_variants), one at a time: the
# zoo refuses one only where timm refuses it too.
TIMM_VARIANTS = {
    "num_classes=0": {"num_classes": 0}, "global_pool=''": {"global_pool": ""},
    "drop_path_rate>0": {"drop_path_rate": 0.1}, "drop_rate>0": {"drop_rate": 0.1},
}
TIMM_MISSING = 62 + 113 + 2  # global_pool='', drop_path_rate, drop_rate: timm refuses them
# Other values, variants with a class count (the variant's own class knob), and arguments
# the zoo does not build or ignores: where the zoo accepts one, it must be exact.
TIMM_OTHER_ARGUMENTS = [
    {"drop_path_rate": 0.3}, {"drop_rate": 0.5}, {"drop_rate": 0.0}, {"drop_path_rate": 0.0},
    {"global_pool": "", "num_classes": 10}, {"drop_path_rate": 0.2, "num_classes": 10},
    {"global_pool": "avg", "num_classes": 3}, {"drop_path_rate": 0.0, "num_classes": 5},
    {"global_pool": "avg"}, {"global_pool": "max"}, {"global_pool": "map"},
    {"global_pool": "catavgmax"}, {"features_only": True},
    {"scriptable": True}, {"exportable": True}, {"no_jit": True},
    {"pretrained_cfg_overlay": {"num_classes": 10}},
    {"pretrained_cfg_overlay": {"input_size": (1, 224, 224)}},
    {"pretrained_cfg_overlay": {"file": "/nonexistent/weights.pth"}},
    {"features_only": True, "out_indices": (1, 2)}, {"out_indices": (1, 2)},
    {"in_chans": 1}, {"img_size": 384}, {"class_token": False}, {"reg_tokens": 4},
    {"no_embed_class": True}, {"dynamic_img_size": True}, {"drop_block_rate": 0.1},
    {"attn_drop_rate": 0.1}, {"proj_drop_rate": 0.1}, {"pos_drop_rate": 0.1},
    {"patch_drop_rate": 0.1},
]


def _timm_pair(timm: Any, model_id: str,
               kwargs: dict[str, Any]) -> tuple[Manifest | None, Manifest | None]:
    """(the zoo's manifest or None if it refuses, the live build or None if timm does)."""
    try:
        shipped: Manifest | None = load_zoo(model_id, kwargs)
    except ValueError:
        shipped = None
    try:
        live: Manifest | None = _build(lambda: timm.create_model(
            model_id.removeprefix("timm/"), pretrained=False, **kwargs))
    except (TypeError, AssertionError, ValueError, RuntimeError):
        live = None
    return shipped, live


@pytest.mark.torch
@pytest.mark.parametrize("model_id", _sample("timm"))
def test_timm_variant_sample(model_id: str) -> None:
    """Every argument the zoo accepts gives the live build's names, shapes and types; a
    variant alone is refused only where timm refuses it too."""
    timm = _library("timm", load_zoo(model_id))
    for kwargs in [*TIMM_VARIANTS.values(), *TIMM_OTHER_ARGUMENTS]:
        shipped, live = _timm_pair(timm, model_id, kwargs)
        if shipped is None:
            assert live is None or kwargs not in TIMM_VARIANTS.values(), \
                f"{kwargs} refused, timm builds it"
            continue
        assert live is not None, f"{kwargs}: the zoo accepts what timm refuses"
        assert _full(shipped) == _full(live), kwargs


@pytest.mark.torch
def test_timm_refuses_every_variant_the_zoo_did_not_build() -> None:
    """The timm variants missing from the zoo are exactly the ones timm refuses to build
    (VGG takes no drop_path_rate, CoaT pools only by token or average...)."""
    from freezelint.models import zoo

    timm = _library("timm", load_zoo("timm/resnet50"))
    missing = 0
    for model_id, entry in ENTRIES.items():
        if entry["library"] != "timm":
            continue
        variants = zoo._shard(zoo._entry(model_id)["shard"])["models"][model_id]["variants"]
        for label, kwargs in TIMM_VARIANTS.items():
            if label in variants:
                continue
            missing += 1
            shipped, live = _timm_pair(timm, model_id, kwargs)
            assert shipped is None and live is None, (model_id, kwargs)
    assert missing == TIMM_MISSING


@pytest.mark.torch
@pytest.mark.parametrize(("model_id", "kwargs"), [
    ("timm/convnext_tiny", {"num_classes": 0}),
    ("timm/vit_base_patch16_224", {"num_classes": 10}),
    ("timm/vit_base_patch16_224", {"drop_path_rate": 0.2}),
    ("timm/vit_base_patch16_224", {"global_pool": ""}),
    ("timm/aimv2_huge_patch14_224", {"drop_rate": 0.1}),
])
def test_timm_arguments(model_id: str, kwargs: dict[str, Any]) -> None:
    shipped = load_zoo(model_id, kwargs)
    timm = _library("timm", shipped)
    live = _build(lambda: timm.create_model(model_id.removeprefix("timm/"), **kwargs))
    assert _full(shipped) == _full(live)


@pytest.mark.torch
@pytest.mark.parametrize(("model_id", "config"), [
    ("transformers/BertForSequenceClassification", {"num_hidden_layers": 6, "num_labels": 5}),
    ("transformers/LlamaForCausalLM", {"num_hidden_layers": 3}),
    ("transformers/T5ForConditionalGeneration", {"num_hidden_layers": 2}),
    ("transformers/WhisperForConditionalGeneration", {"num_hidden_layers": 2}),
])
def test_transformers_layer_counts(model_id: str, config: dict[str, Any]) -> None:
    shipped = load_zoo(model_id, config)
    transformers = _library("transformers", shipped)
    cls = getattr(transformers, model_id.removeprefix("transformers/"))
    live = _build(lambda: cls(transformers.CONFIG_MAPPING[shipped.meta["model_type"]](**config)))
    assert _full(shipped) == _full(live)


def _variants(model_id: str) -> dict[str, str]:
    from freezelint.models import zoo

    entry = zoo._entry(model_id)
    variants: dict[str, str] = zoo._shard(entry["shard"])["models"][model_id].get("variants", {})
    return variants
