"""The shipped zoo: every file loads and states the design's measured facts, matches a live meta-device
build where the library is installed, resolves ids and arguments, and never imports torch."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from freezelint.models.ast_arch import ast_manifest
from freezelint.models.manifest import Manifest
from freezelint.models.zoo import (
    ZOO_DIR,
    UnknownModelError,
    load_zoo,
    resolve_zoo_id,
    zoo_entries,
    zoo_ids,
)
from freezelint.models.zoo_store import decode


def _gz(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(gzip.decompress((ZOO_DIR / name).read_bytes()))
    return doc


def _index_entries() -> dict[str, dict[str, Any]]:
    """Each model's index row joined with its stored entry (knobs, heads, counts)."""
    index = _gz("index.json.gz")
    entries = {}
    for model_id, (shard, library, parameters, head, extra) in index["models"].items():
        entries[model_id] = {"shard": index["shards"][shard],
                             "library": index["libraries"][library],
                             "parameters": parameters, "head": head, **extra}
    return entries


INDEX: dict[str, dict[str, Any]] = _index_entries()


def _stored(model_id: str) -> dict[str, Any]:
    stored: dict[str, Any] = _gz(INDEX[model_id]["shard"] + ".json.gz")["models"][model_id]
    return stored

EXPECTED_IDS = [
    "ast", "resnet18", "resnet34", "resnet50", "resnet101", "vgg16", "densenet121",
    "efficientnet_b0", "mobilenet_v2", "mobilenet_v3_large", "vit_b_16",
    "timm/vit_base_patch16_224", "timm/deit_base_distilled_patch16_384", "timm/resnet50",
    "transformers/BertModel", "transformers/BertForSequenceClassification",
    "transformers/ViTForImageClassification", "transformers/ASTForAudioClassification",
]
# The models the live-build comparisons cover: the featured ones.
LIBRARY_IDS = [model_id for model_id in EXPECTED_IDS if model_id != "ast"]

# The design's "Facts to respect": the head a fine-tuning script replaces.
HEADS = {
    "resnet18": "fc", "resnet34": "fc", "resnet50": "fc", "resnet101": "fc",
    "vit_b_16": "heads.head", "efficientnet_b0": "classifier.1",
    "mobilenet_v3_large": "classifier.3", "vgg16": "classifier.6",
    "densenet121": "classifier", "mobilenet_v2": "classifier.1",
    "timm/vit_base_patch16_224": "head", "timm/deit_base_distilled_patch16_384": "head",
    "timm/resnet50": "fc",
}


def full(manifest: Manifest) -> tuple[object, ...]:
    """Everything two manifests must share (ModuleInfo.attrs is excluded from ==)."""
    return (manifest.parameters, manifest.buffers,
            [(m.path, m.type, m.attrs) for m in manifest.modules])


# -- (c) shipped files ------------------------------------------------------------------

def test_zoo_ids_start_with_the_agreed_set() -> None:
    # The zoo grew from these 18 to every library model; they stay first, in this order.
    assert zoo_ids()[:len(EXPECTED_IDS)] == EXPECTED_IDS
    assert len(zoo_ids()) > 1000


def test_index_and_files_agree() -> None:
    files = {p.name for p in ZOO_DIR.glob("*.json.gz")} - {"index.json.gz", "hf.json.gz",
                                                                "peft.json.gz"}
    assert files == {entry["shard"] + ".json.gz" for entry in INDEX.values()}


@pytest.mark.parametrize("model_id", EXPECTED_IDS)
def test_every_shipped_file_loads(model_id: str) -> None:
    entry = INDEX[model_id]
    stored = _stored(model_id)
    shard = _gz(entry["shard"] + ".json.gz")
    manifest = decode(shard["nodes"], stored["root"], model_id, {})
    assert manifest.name == model_id
    assert manifest.source == "zoo"
    assert manifest.parameters
    assert manifest.modules
    assert len(manifest.parameters) == entry["parameters"] == stored["parameters"]
    assert manifest.total_numel == stored["numel"]
    names = manifest.parameter_names
    assert len(set(names)) == len(names)
    for path in stored["class_heads"]:
        head = manifest.module(path)
        assert head is not None and head.type == "Linear"
    if model_id != "ast":
        loaded = load_zoo(model_id)
        assert loaded.meta["versions"]["torch"]
        assert loaded.meta["versions"][entry["library"]]


@pytest.mark.parametrize(("model_id", "head"), sorted(HEADS.items()))
def test_heads_per_design(model_id: str, head: str) -> None:
    manifest = load_zoo(model_id)
    info = manifest.module(head)
    assert info is not None and info.type == "Linear"
    assert info.attrs["out_features"] == 1000
    assert INDEX[model_id]["head"] == head
    if model_id != "timm/deit_base_distilled_patch16_384":  # its last Linear is head_dist
        assert manifest.head == head


def test_mobilenet_v3_large_has_two_linear_layers_in_classifier() -> None:
    manifest = load_zoo("mobilenet_v3_large")
    assert manifest.module("classifier.0").type == "Linear"
    assert manifest.module("classifier.3").type == "Linear"


def test_resnet50_state_dict_has_batchnorm_buffers() -> None:
    manifest = load_zoo("resnet50")
    keys = manifest.state_dict_keys
    assert len(keys) > len(manifest.parameters)
    assert "bn1.running_mean" in keys
    assert "bn1.running_var" in keys
    assert "bn1.num_batches_tracked" in keys
    assert "layer4.2.bn3.num_batches_tracked" in keys
    assert keys.index("bn1.weight") < keys.index("bn1.running_mean") < keys.index("layer1.0.conv1.weight")
    assert next(b for b in manifest.buffers if b.name == "bn1.num_batches_tracked").dtype == "int64"


def test_shipped_ast_is_the_default_ast_manifest() -> None:
    shard = _gz(INDEX["ast"]["shard"] + ".json.gz")
    shipped = decode(shard["nodes"], shard["models"]["ast"]["root"], "ast", {})
    assert full(shipped) == full(ast_manifest())


@pytest.mark.parametrize(("model_id", "differ", "old_name"), [
    ("transformers/BertModel", False, None),
    ("transformers/BertForSequenceClassification", False, None),
    ("transformers/ViTForImageClassification", True,
     "vit.encoder.layer.0.attention.attention.query.weight"),
    ("transformers/ASTForAudioClassification", True,
     "audio_spectrogram_transformer.encoder.layer.0.attention.attention.query.weight"),
])
def test_transformers_keep_both_majors_names(model_id: str, differ: bool,
                                             old_name: str | None) -> None:
    manifest = load_zoo(model_id)
    assert manifest.meta["transformers_major"] == 5
    assert manifest.meta["alias_versions"]["transformers"].startswith("4.")
    assert manifest.meta["aliases_differ"] is differ
    assert bool(manifest.aliases) is differ
    if old_name:
        (alias,) = manifest.aliases
        assert old_name in alias
        assert len(alias) == len(manifest.parameters)
        assert old_name in manifest.all_known_names()
        assert old_name not in manifest.parameter_names


def test_ast_5x_names_are_the_renamed_ones() -> None:
    names = load_zoo("transformers/ASTForAudioClassification").parameter_names
    assert "audio_spectrogram_transformer.layers.0.attention.q_proj.weight" in names
    assert "audio_spectrogram_transformer.layers.0.mlp.fc1.weight" in names


# -- lookup and arguments ---------------------------------------------------------------

def test_zoo_entries_summarise_the_index() -> None:
    entries = {e["id"]: e for e in zoo_entries()}
    assert list(entries)[:len(EXPECTED_IDS)] == EXPECTED_IDS
    assert entries["ast"]["parameters"] == 159
    assert entries["resnet50"]["library"] == "torchvision"
    assert entries["resnet50"]["parameters"] == 161
    assert all(e["description"] for e in entries.values())


@pytest.mark.parametrize(("spelling", "model_id"), [
    ("resnet50", "resnet50"),
    ("torchvision/resnet50", "resnet50"),
    ("torchvision/vit_b_16", "vit_b_16"),
    ("timm/resnet50", "timm/resnet50"),
    ("bert-base-uncased", "transformers/BertModel"),
    ("AST", "ast"),
    ("transformers/bertmodel", "transformers/BertModel"),
])
def test_ids_and_aliases_resolve(spelling: str, model_id: str) -> None:
    assert resolve_zoo_id(spelling) == model_id
    assert load_zoo(spelling).name == model_id


def test_ast_goes_through_ast_manifest() -> None:
    manifest = load_zoo("ast", {"label_dim": 10, "input_tdim": 512})
    shapes = {p.name: p.shape for p in manifest.parameters}
    assert shapes["v.pos_embed"] == (1, 602, 768)
    assert shapes["mlp_head.1.weight"] == (10, 768)
    assert full(load_zoo("ast")) == full(ast_manifest())


@pytest.mark.parametrize(("model_id", "head"), [("resnet50", "fc"),
                                                ("vit_b_16", "heads.head"),
                                                ("vgg16", "classifier.6"),
                                                ("timm/vit_base_patch16_224", "head")])
def test_num_classes_resizes_the_head(model_id: str, head: str) -> None:
    original = load_zoo(model_id)
    manifest = load_zoo(model_id, {"num_classes": 10})
    in_features = original.module(head).attrs["in_features"]
    shapes = {p.name: p.shape for p in manifest.parameters}
    assert shapes[f"{head}.weight"] == (10, in_features)
    assert shapes[f"{head}.bias"] == (10,)
    assert manifest.module(head).attrs == {"in_features": in_features, "out_features": 10}
    assert manifest.parameter_names == original.parameter_names
    # the cached original is untouched
    assert load_zoo(model_id).module(head).attrs["out_features"] == 1000


def test_weight_arguments_are_ignored() -> None:
    assert load_zoo("resnet50", {"weights": None, "progress": False}) == load_zoo("resnet50")
    assert load_zoo("timm/resnet50", {"pretrained": True}) == load_zoo("timm/resnet50")
    assert load_zoo("bert-base-uncased", {"num_labels": 3}) == load_zoo("bert-base-uncased")


def test_timm_num_classes_zero_removes_the_head() -> None:
    manifest = load_zoo("timm/deit_base_distilled_patch16_384", {"num_classes": 0})
    assert manifest.module("head").type == "Identity"
    assert manifest.module("head_dist").type == "Identity"
    assert not any(n.startswith("head") for n in manifest.parameter_names)


def test_num_labels_resizes_transformers_classifier() -> None:
    manifest = load_zoo("transformers/ASTForAudioClassification", {"num_labels": 527})
    shapes = {p.name: p.shape for p in manifest.parameters}
    assert shapes["classifier.dense.weight"] == (527, 768)
    assert manifest.aliases == load_zoo("transformers/ASTForAudioClassification").aliases


# -- (e) errors -------------------------------------------------------------------------

@pytest.mark.parametrize(("typo", "suggestion"), [
    ("resnet5", "resnet50"),
    ("resnet-50", "resnet50"),
    ("efficientnet-b0", "efficientnet_b0"),
    ("bert", "transformers/BertModel"),
    ("timm/vit_base_patch16_244", "timm/vit_base_patch16_224"),
])
def test_unknown_id_suggests_close_ids(typo: str, suggestion: str) -> None:
    with pytest.raises(UnknownModelError) as caught:
        load_zoo(typo)
    assert suggestion in str(caught.value)
    assert suggestion in caught.value.suggestions
    assert isinstance(caught.value, LookupError)


def test_unknown_id_without_close_match_lists_known_ids() -> None:
    with pytest.raises(UnknownModelError, match=r"known models: ast, resnet18, .*freezelint models"):
        load_zoo("zzzz")


@pytest.mark.parametrize(("model_id", "kwargs", "message"), [
    ("resnet50", {"num_class": 10}, "unexpected argument.*num_class"),
    ("resnet50", {"num_classes": "10"}, "num_classes must be an int"),
    ("resnet50", {"num_classes": 0}, "num_classes must be at least 1"),
    ("timm/resnet50", {"num_classes": -1}, "num_classes must be at least 0"),
    ("timm/resnet50", {"weights": None}, "unexpected argument.*weights"),
    ("transformers/BertForSequenceClassification", {"num_classes": 3},
     "unexpected argument.*num_classes"),
    ("ast", {"model_size": "large"}, "model_size must be one of"),
    ("ast", {"label_dim": 1.5}, "label_dim must be an int"),
    ("ast", {"num_classes": 10}, "unexpected argument.*num_classes"),
])
def test_bad_kwargs_raise_value_error(model_id: str, kwargs: dict[str, Any],
                                      message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_zoo(model_id, kwargs)


# -- (f) no torch -----------------------------------------------------------------------

def test_loading_the_zoo_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from freezelint.models.zoo import load_zoo, zoo_entries\n"
        "zoo_entries()\n"
        "assert len(load_zoo('ast').parameters) == 159\n"
        "assert len(load_zoo('resnet50', {'num_classes': 10}).parameters) == 161\n"
        "load_zoo('transformers/ASTForAudioClassification')\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))\n"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=root, check=True)
    assert result.stdout.strip() == "[]"


# -- (d) against live builds ------------------------------------------------------------

def _live(model_id: str, **kwargs: Any) -> Manifest:
    """Build a zoo model with its real library on the meta device; skip if not installed."""
    torch = pytest.importorskip("torch")
    from freezelint.models.introspect import manifest_from_module

    name = INDEX[model_id]["library"]
    library = pytest.importorskip(name, reason=f"{name} is not installed")
    with torch.device("meta"):
        if name == "torchvision":
            module = getattr(library.models, model_id)(weights=None, **kwargs)
        elif name == "timm":
            module = library.create_model(model_id.removeprefix("timm/"), pretrained=False,
                                          **kwargs)
        else:
            cls = getattr(library, model_id.removeprefix("transformers/"))
            module = cls(cls.config_class(**kwargs))
    return manifest_from_module(module, name=model_id, source="zoo")


@pytest.mark.torch
@pytest.mark.parametrize("model_id", LIBRARY_IDS)
def test_shipped_manifest_matches_live_build(model_id: str) -> None:
    live = _live(model_id)
    shipped = load_zoo(model_id)
    if INDEX[model_id]["library"] == "transformers":
        import transformers

        major = int(transformers.__version__.split(".")[0])
        if major != shipped.meta["transformers_major"]:
            # Another major: its in-memory names are the alias set (or the same names).
            other = list(shipped.aliases[0]) if shipped.aliases else shipped.parameter_names
            assert live.parameter_names == other
            return
    assert full(shipped) == full(live)


@pytest.mark.torch
@pytest.mark.parametrize(("model_id", "kwargs"), [
    ("resnet50", {"num_classes": 10}),
    ("vgg16", {"num_classes": 3}),
    ("vit_b_16", {"num_classes": 7}),
    ("efficientnet_b0", {"num_classes": 5}),
    ("mobilenet_v3_large", {"num_classes": 2}),
    ("densenet121", {"num_classes": 4}),
    ("timm/resnet50", {"num_classes": 10}),
    ("timm/resnet50", {"num_classes": 0}),
    ("timm/deit_base_distilled_patch16_384", {"num_classes": 10}),
    ("timm/vit_base_patch16_224", {"num_classes": 0}),
])
def test_num_classes_matches_live_build(model_id: str, kwargs: dict[str, Any]) -> None:
    live = _live(model_id, **kwargs)
    assert full(load_zoo(model_id, kwargs)) == full(live)


@pytest.mark.torch
@pytest.mark.parametrize("model_id", ["transformers/BertForSequenceClassification",
                                      "transformers/ViTForImageClassification",
                                      "transformers/ASTForAudioClassification"])
def test_num_labels_matches_live_build(model_id: str) -> None:
    live = _live(model_id, num_labels=527)
    import transformers

    if int(transformers.__version__.split(".")[0]) != load_zoo(model_id).meta["transformers_major"]:
        pytest.skip("shapes are compared under the shipped transformers major")
    assert full(load_zoo(model_id, {"num_labels": 527})) == full(live)


# The timm arguments built as variants for every architecture, and the number of
# architectures whose timm build refuses each (the zoo then refuses it too: unknown; the
# live tests check that timm does refuse them). Generated with timm 1.0.31.
TIMM_VARIANTS: dict[str, tuple[dict[str, Any], int]] = {
    "num_classes=0": ({"num_classes": 0}, 0),
    "global_pool=''": ({"global_pool": ""}, 62),
    "drop_path_rate>0": ({"drop_path_rate": 0.1}, 113),
    "drop_rate>0": ({"drop_rate": 0.1}, 2),
}
# Recorded only where the build differs from the default one (the architecture's own
# default is not 0: Swin's drop_path_rate is 0.1); elsewhere 0 is the default.
TIMM_ZERO = {"drop_path_rate=0": ({"drop_path_rate": 0.0}, "drop_path_rate>0", 51),
             "drop_rate=0": ({"drop_rate": 0.0}, "drop_rate>0", 0)}


def test_timm_variants_are_built_wherever_timm_accepts_the_argument() -> None:
    """timm's num_classes=0, global_pool='', drop_path_rate and drop_rate are built as
    variants for all 1,371 architectures. Where one is
    stored, the argument selects it; where it is the same as the default build, the model
    is the default one; where timm refused to build it, the zoo refuses it (unknown), never
    reads it as the default. A drop rate of 0 is the default only where its build said so."""
    from freezelint.models import zoo

    refused = dict.fromkeys(TIMM_VARIANTS, 0)
    zero = dict.fromkeys(TIMM_ZERO, 0)
    stored = 0
    architectures = [m for m in zoo_ids() if zoo._entry(m)["library"] == "timm"]
    assert len(architectures) == 1371
    for model_id in architectures:
        variants = zoo._shard(zoo._entry(model_id)["shard"])["models"][model_id]["variants"]
        assert set(variants) <= {*TIMM_VARIANTS, *TIMM_ZERO}, variants
        base = full(load_zoo(model_id))
        for label, (kwargs, _) in TIMM_VARIANTS.items():
            if label not in variants:
                with pytest.raises(ValueError, match=next(iter(kwargs))):
                    load_zoo(model_id, kwargs)
                refused[label] += 1
                continue
            manifest = load_zoo(model_id, kwargs)
            if variants[label]:
                stored += 1
                assert full(manifest) != base
            else:
                assert full(manifest) == base
        for label, (kwargs, positive, _) in TIMM_ZERO.items():
            if positive not in variants:  # timm refuses the argument: so does the zoo
                assert label not in variants
                with pytest.raises(ValueError):
                    load_zoo(model_id, kwargs)
            elif label in variants:
                zero[label] += 1
                assert full(load_zoo(model_id, kwargs)) != base
            else:
                assert full(load_zoo(model_id, kwargs)) == base
    assert refused == {label: count for label, (_, count) in TIMM_VARIANTS.items()}
    assert zero == {label: count for label, (_, _, count) in TIMM_ZERO.items()}
    assert stored == 1226 + 911 + 1200 + 9


def test_a_drop_rate_of_zero_is_the_default_only_where_it_was_built_so() -> None:
    """Swin's own drop_path_rate is 0.1 (DropPath in every block but the first); with 0 the
    blocks hold Identity. Any positive rate builds the default modules."""
    swin = "timm/swin_base_patch4_window7_224"
    block = "layers.1.blocks.0.drop_path1"
    assert load_zoo(swin).module(block).type == "DropPath"
    assert load_zoo(swin, {"drop_path_rate": 0.0}).module(block).type == "Identity"
    assert load_zoo(swin, {"drop_path_rate": 0.3}) == load_zoo(swin)
    resnet = load_zoo("timm/resnet50", {"drop_path_rate": 0})
    assert resnet == load_zoo("timm/resnet50")
