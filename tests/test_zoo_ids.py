"""Every library model, by the constructor a script really writes: torchvision builders,
timm names (with pretrained tags), Hugging Face ids through Auto classes. For each, a name
test with a wrong name is reported with the right did-you-mean, and the right name is quiet.
Identity is exact or unknown: an id the zoo does not know exactly gives no model at all
(issue 13, class 1: `roberta-base` is not BERT)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from freezelint.analysis.detect import detect_constructor
from freezelint.engine.lint import LintConfig, lint
from freezelint.models.zoo import UNEVALUATED, load_zoo

TV = "import torchvision\n"
TF = "import transformers\n"

# (constructor code, zoo id it must resolve to, the real name, a wrong name for it)
CASES = [
    (TV + "model = torchvision.models.resnet152(weights='DEFAULT')", "resnet152",
     "fc.weight", "fc.weights"),
    ("from torchvision import models\nmodel = models.convnext_tiny(weights=None, num_classes=10)",
     "convnext_tiny", "classifier.2.weight", "classifier.3.weight"),
    ("from torchvision.models import swin_t\nmodel = swin_t()", "swin_t", "head.weight",
     "heads.head.weight"),
    (TV + "model = torchvision.models.detection.fasterrcnn_resnet50_fpn(weights='DEFAULT')",
     "fasterrcnn_resnet50_fpn", "roi_heads.box_predictor.cls_score.weight",
     "roi_heads.box_predictor.cls_scores.weight"),
    (TV + "model = torchvision.models.segmentation.deeplabv3_resnet101(weights=None, "
     "num_classes=5)", "deeplabv3_resnet101", "classifier.4.weight", "classifier.5.weight"),
    ("import torch\nmodel = torch.hub.load('pytorch/vision', 'resnet50', weights='DEFAULT')",
     "resnet50", "fc.bias", "head.bias"),
    ("import torchvision.models as tvm\nmodel = tvm.get_model('efficientnet_v2_s', num_classes=3)",
     "efficientnet_v2_s", "classifier.1.weight", "classifier.2.weight"),
    ("import timm\nmodel = timm.create_model('convnext_tiny', pretrained=True, num_classes=4)",
     "timm/convnext_tiny", "head.fc.weight", "head.weight"),
    ("import timm\nmodel = timm.create_model('vit_base_patch16_224.augreg_in21k', pretrained=True)",
     "timm/vit_base_patch16_224", "head.weight", "fc.weight"),
    ("from transformers import AutoModelForSequenceClassification\n"
     "model = AutoModelForSequenceClassification.from_pretrained('roberta-base', num_labels=3)",
     "roberta-base:RobertaForSequenceClassification", "roberta.encoder.layer.11.output.dense.weight",
     "bert.encoder.layer.11.output.dense.weight"),
    ("from transformers import AutoModelForSequenceClassification\n"
     "model = AutoModelForSequenceClassification.from_pretrained('distilbert-base-uncased')",
     "transformers/DistilBertForSequenceClassification", "classifier.weight",
     "classifier.dense.weight"),
    (TF + "model = transformers.GPT2LMHeadModel.from_pretrained('gpt2')",
     "transformers/GPT2LMHeadModel", "transformer.h.11.mlp.c_fc.weight",
     "transformer.h.11.mlp.fc.weight"),
    ("from transformers import AutoModelForSequenceClassification as Auto\n"
     "model = Auto.from_pretrained('meta-llama/Llama-2-7b-hf', num_labels=5)",
     "transformers/LlamaForSequenceClassification", "score.weight", "classifier.weight"),
    ("from transformers import AutoModelForCausalLM\n"
     "model = AutoModelForCausalLM.from_pretrained('meta-llama/Llama-2-7b-hf')",
     "transformers/LlamaForCausalLM", "model.layers.31.self_attn.q_proj.weight",
     "model.layers.31.self_atn.q_proj.weight"),
    ("from transformers import T5ForConditionalGeneration\n"
     "model = T5ForConditionalGeneration.from_pretrained('t5-small')",
     "transformers/T5ForConditionalGeneration", "shared.weight", "shared.weights"),
    ("from transformers import WhisperForConditionalGeneration\n"
     "model = WhisperForConditionalGeneration.from_pretrained('openai/whisper-small')",
     "openai/whisper-small:WhisperForConditionalGeneration",
     "model.encoder.layers.11.fc1.weight", "model.encoder.layers.11.fc_1.weight"),
    ("from transformers import AutoModelForImageClassification\n"
     "model = AutoModelForImageClassification.from_pretrained('google/vit-base-patch16-224')",
     "google/vit-base-patch16-224:ViTForImageClassification", "classifier.weight",
     "head.weight"),
    ("from transformers import AutoModel\nmodel = AutoModel.from_pretrained('bert-large-uncased')",
     "bert-large-uncased:BertModel", "encoder.layer.23.output.dense.weight",
     "encoder.layers.23.output.dense.weight"),
    ("from transformers import AutoModelForTokenClassification\n"
     "model = AutoModelForTokenClassification.from_pretrained('xlm-roberta-base', num_labels=9)",
     "xlm-roberta-base:XLMRobertaForTokenClassification", "classifier.weight",
     "classifier.out_proj.weight"),
    ("from transformers import AutoModelForSequenceClassification\n"
     "model = AutoModelForSequenceClassification.from_pretrained('microsoft/deberta-v3-base')",
     "microsoft/deberta-v3-base:DebertaV2ForSequenceClassification", "pooler.dense.weight",
     "pooler.weight"),
    ("from transformers import AutoModelForMaskedLM\n"
     "model = AutoModelForMaskedLM.from_pretrained('answerdotai/ModernBERT-base')",
     "transformers/ModernBertForMaskedLM", "model.layers.21.attn.Wqkv.weight",
     "model.layers.21.attn.Wqkv.weights"),
    ("from transformers import AutoModelForCausalLM\n"
     "model = AutoModelForCausalLM.from_pretrained('Qwen/Qwen2.5-0.5B')",
     "Qwen/Qwen2.5-0.5B:Qwen2ForCausalLM", "model.layers.23.mlp.gate_proj.weight",
     "model.layers.23.mlp.gate_proj.weights"),
    ("from transformers import AutoModelForCausalLM\n"
     "model = AutoModelForCausalLM.from_pretrained('mistralai/Mistral-7B-v0.1')",
     "transformers/MistralForCausalLM", "lm_head.weight", "lm_heads.weight"),
    ("from transformers import AutoModelForSeq2SeqLM\n"
     "model = AutoModelForSeq2SeqLM.from_pretrained('google/flan-t5-base')",
     "google/flan-t5-base:T5ForConditionalGeneration",
     "encoder.block.11.layer.1.DenseReluDense.wi_0.weight",
     "encoder.block.11.layer.1.DenseReluDense.wi_00.weight"),
    ("from transformers import AutoModelForAudioClassification\n"
     "model = AutoModelForAudioClassification.from_pretrained('facebook/wav2vec2-base', "
     "num_labels=10)", "transformers/Wav2Vec2ForSequenceClassification", "classifier.weight",
     "classifier.dense.weight"),
    ("from transformers import CLIPModel\n"
     "model = CLIPModel.from_pretrained('openai/clip-vit-large-patch14')",
     "openai/clip-vit-large-patch14:CLIPModel", "visual_projection.weight",
     "vision_projection.weight"),
    ("from transformers import AutoModel\nmodel = AutoModel.from_pretrained('facebook/dinov2-base')",
     "facebook/dinov2-base:Dinov2Model", "embeddings.cls_token", "embeddings.cls_tokens"),
    ("from transformers import AutoModelForImageClassification\n"
     "model = AutoModelForImageClassification.from_pretrained("
     "'microsoft/swin-tiny-patch4-window7-224')",
     "microsoft/swin-tiny-patch4-window7-224:SwinForImageClassification", "classifier.weight",
     "head.weight"),
]

LOOP = """
for name, param in model.named_parameters():
    param.requires_grad = name == {name!r}
"""


def _lint(code: str, name: str) -> list:
    return lint(code + "\n" + textwrap.dedent(LOOP.format(name=name)),
                LintConfig(prefilter=True))


@pytest.mark.parametrize(("code", "model_id", "right", "wrong"), CASES,
                         ids=[c[1] for c in CASES])
def test_the_constructor_names_the_exact_model(code: str, model_id: str, right: str,
                                               wrong: str) -> None:
    manifest = load_zoo(model_id)
    assert right in manifest.parameter_names
    assert wrong not in manifest.all_known_names()
    quiet = _lint(code, right)
    assert "FZL101" not in [d.rule for d in quiet]
    found = [d for d in _lint(code, wrong) if d.rule == "FZL101"]
    assert len(found) == 1, found
    assert f"did you mean '{right}'" in found[0].message
    assert f"`{model_id}`" in found[0].message  # the message names the exact model


@pytest.mark.parametrize("checkpoint", ["roberta-base", "distilbert-base-uncased",
                                        "microsoft/deberta-v3-base",
                                        "answerdotai/ModernBERT-base"])
def test_a_bert_like_id_is_never_checked_against_bert(checkpoint: str) -> None:
    code = ("from transformers import AutoModelForSequenceClassification\n"
            f"model = AutoModelForSequenceClassification.from_pretrained({checkpoint!r})\n")
    names = load_zoo(detect_constructor(
        "transformers.AutoModelForSequenceClassification.from_pretrained",
        [checkpoint], {}).model_id).parameter_names
    assert not any(n.startswith("bert.") for n in names)
    diagnostics = _lint(code, names[0])
    assert "FZL101" not in [d.rule for d in diagnostics]


@pytest.mark.parametrize("checkpoint", ["my-org/bert-finetuned-imdb", "bert-base-uncasedd",
                                        "roberta-base-custom", "./checkpoints/bert"])
def test_an_unknown_id_is_unknown_not_guessed(checkpoint: str) -> None:
    request = detect_constructor("transformers.AutoModelForSequenceClassification.from_pretrained",
                                 [checkpoint], {})
    assert request is None
    code = ("from transformers import AutoModelForSequenceClassification\n"
            f"model = AutoModelForSequenceClassification.from_pretrained({checkpoint!r})\n")
    assert "FZL101" not in [d.rule for d in _lint(code, "bert.pooler.dense.weight")]


@pytest.mark.parametrize(("auto", "head_class"), [
    ("AutoModel", "LlamaModel"),
    ("AutoModelForCausalLM", "LlamaForCausalLM"),
    ("AutoModelForSequenceClassification", "LlamaForSequenceClassification"),
    ("AutoModelForTokenClassification", "LlamaForTokenClassification"),
])
def test_the_auto_class_decides_the_head(auto: str, head_class: str) -> None:
    request = detect_constructor(f"transformers.{auto}.from_pretrained",
                                 ["meta-llama/Llama-2-7b-hf"], {})
    assert request is not None
    assert request.model_id.endswith(head_class)


def test_remote_code_and_unknown_arguments_make_the_model_unknown() -> None:
    name = "transformers.AutoModelForCausalLM.from_pretrained"
    assert detect_constructor(name, ["gpt2"], {"trust_remote_code": True}) is None
    assert detect_constructor(name, ["gpt2"], {"quantization_config": UNEVALUATED}) is None
    assert detect_constructor(name, ["gpt2"], {"torch_dtype": UNEVALUATED}) is not None


@pytest.mark.parametrize(("model_id", "kwargs"), [
    ("googlenet", {"aux_logits": UNEVALUATED}),   # decides whether aux1/aux2 exist
    ("googlenet", {"aux_logits": True, "weights": "DEFAULT"}),  # not a stored combination
    ("timm/vgg16", {"drop_path_rate": 0.1}),  # timm's VGG refuses it: not built, unknown
    ("timm/coat_tiny", {"global_pool": ""}),  # CoaT pools by token or average only
    # timm arguments that change names or shapes and are not built: unknown (measured on
    # every 10th architecture: see test_timm_arguments_that_change_names_are_unknown)
    ("timm/resnet50", {"features_only": True, "out_indices": (1, 2)}),
    ("timm/resnet50", {"out_indices": (1, 2)}),
    ("timm/resnet50", {"pretrained_cfg_overlay": {"num_classes": 10}}),
    ("timm/resnet50", {"pretrained_cfg_overlay": UNEVALUATED}),
    ("timm/resnet50", {"in_chans": 1}),
    ("timm/vit_base_patch16_224", {"img_size": 384}),
    ("timm/vit_base_patch16_224", {"class_token": False}),
    ("timm/vit_base_patch16_224", {"reg_tokens": 4}),
    ("timm/vit_base_patch16_224", {"no_embed_class": True}),
    ("timm/vit_base_patch16_224", {"dynamic_img_size": True}),
    ("timm/vit_base_patch16_224", {"patch_drop_rate": 0.1}),
    ("timm/resnet50", {"drop_block_rate": 0.1}),
    ("timm/resnet50", {"global_pool": "no-such-pool"}),
    ("timm/resnet50", {"features_only": UNEVALUATED}),
    ("transformers/BertModel", {"num_hidden_layers": UNEVALUATED}),
])
def test_arguments_the_zoo_cannot_apply_exactly_raise(model_id: str, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        load_zoo(model_id, kwargs)


TIMM = "import timm\n"


@pytest.mark.parametrize("code", [
    "model = timm.create_model('resnet50', pretrained=True, "
    "pretrained_cfg_overlay=dict(num_classes=10))",
    "model = timm.create_model('resnet50', features_only=True, out_indices=(1, 2))",
    "model = timm.create_model('vit_base_patch16_224', class_token=False, global_pool='avg')",
    "model = timm.create_model('vit_base_patch16_224', reg_tokens=4)",
    "model = timm.create_model('resnet50', in_chans=1)",
], ids=["overlay", "out_indices", "class_token", "reg_tokens", "in_chans"])
def test_timm_arguments_that_change_names_are_unknown(code: str) -> None:
    """timm arguments measured to change names or shapes (pretrained_cfg_overlay sets the
    default num_classes, global_pool and input size even without weights) and not built
    leave the model unknown: a name test says nothing, rather than judge the default."""
    assert "FZL101" not in [d.rule for d in _lint(TIMM + code, "no.such.name")]
    assert "FZL101" not in [d.rule for d in _lint(TIMM + code, "fc.weights")]


@pytest.mark.parametrize(("code", "model_id", "kwargs", "right", "wrong"), [
    # a variant with its own class knob (drop_path_rate: DropPath modules in the blocks)
    ("timm.create_model('convnext_tiny', pretrained=True, drop_path_rate=0.1, num_classes=5)",
     "timm/convnext_tiny", {"drop_path_rate": 0.1, "num_classes": 5}, "head.fc.weight",
     "head.weight"),
    # BEiT pools by averaging through fc_norm; global_pool='' keeps the final norm instead
    ("timm.create_model('beit_base_patch16_224', global_pool='', num_classes=10)",
     "timm/beit_base_patch16_224", {"global_pool": "", "num_classes": 10}, "norm.weight",
     "fc_norm.weight"),
    # Swin's own drop_path_rate is 0.1: 0 is a stored variant (Identity in the blocks)
    ("timm.create_model('swin_tiny_patch4_window7_224', drop_path_rate=0.0, num_classes=3)",
     "timm/swin_tiny_patch4_window7_224", {"drop_path_rate": 0.0, "num_classes": 3},
     "head.fc.weight", "head.weight"),
], ids=["drop_path_rate", "global_pool", "drop_path_rate=0"])
def test_timm_variants_name_the_exact_model(code: str, model_id: str, kwargs: dict,
                                            right: str, wrong: str) -> None:
    manifest = load_zoo(model_id, kwargs)
    assert right in manifest.parameter_names and wrong not in manifest.all_known_names()
    assert "FZL101" not in [d.rule for d in _lint(TIMM + "model = " + code, right)]
    found = [d for d in _lint(TIMM + "model = " + code, wrong) if d.rule == "FZL101"]
    assert len(found) == 1 and f"did you mean '{right}'" in found[0].message, found
    assert f"`{model_id}`" in found[0].message


def test_weights_and_variants_change_names_exactly() -> None:
    plain = load_zoo("fasterrcnn_resnet50_fpn")  # default weights_backbone: frozen BatchNorm
    scratch = load_zoo("fasterrcnn_resnet50_fpn", {"weights_backbone": None})
    assert "backbone.body.bn1.weight" not in plain.parameter_names
    assert "backbone.body.bn1.weight" in {b.name for b in plain.buffers}
    assert "backbone.body.bn1.weight" in scratch.parameter_names
    assert not load_zoo("googlenet", {"weights": "DEFAULT"}).has_module("aux1")
    assert load_zoo("googlenet").has_module("aux1")
    assert not load_zoo("inception_v3", {"aux_logits": False}).has_module("AuxLogits")
    # weights=... of a model whose names it does not change: any value is fine
    assert load_zoo("resnet50", {"weights": UNEVALUATED}) == load_zoo("resnet50")


def test_layer_count_is_configuration() -> None:
    six = load_zoo("transformers/BertForSequenceClassification", {"num_hidden_layers": 6})
    names = six.parameter_names
    assert "bert.encoder.layer.5.output.dense.weight" in names
    assert not any(n.startswith("bert.encoder.layer.6.") for n in names)
    assert names[-2:] == ["classifier.weight", "classifier.bias"]
    t5 = load_zoo("transformers/T5EncoderModel", {"num_hidden_layers": 2})
    assert any(n.startswith("encoder.block.1.") for n in t5.parameter_names)
    assert not any(n.startswith("encoder.block.2.") for n in t5.parameter_names)


def test_timm_tags_set_the_class_count() -> None:
    request = detect_constructor("timm.create_model", ["vit_base_patch16_224.augreg_in21k"], {})
    assert request is not None
    manifest = load_zoo(request.model_id, request.kwargs)
    shapes = {p.name: p.shape for p in manifest.parameters}
    assert shapes["head.weight"] == (21843, 768)
    assert detect_constructor("timm.create_model", ["vit_base_patch16_224.no_such_tag"],
                              {}) is None
    assert detect_constructor("timm.create_model", ["hf-hub:timm/vit_base_patch16_224"],
                              {}) is None


FORMS = [
    # import alias, a builder looked up by name, argparse defaults, torch.hub, from_config
    ("import torchvision.models as tvm\nmodel = tvm.resnet152()", "resnet152"),
    ("from torchvision.models import resnet152 as backbone\nmodel = backbone()", "resnet152"),
    ("import torchvision.models as models\nmodel = models.__dict__['resnet152'](weights=None)",
     "resnet152"),
    ("import torchvision.models as models\nmodel = getattr(models, 'swin_t')()", "swin_t"),
    ("import argparse\nimport torchvision.models as models\n"
     "parser = argparse.ArgumentParser()\n"
     "parser.add_argument('-a', '--arch', default='resnet152')\n"
     "args = parser.parse_args()\nmodel = models.__dict__[args.arch]()", "resnet152"),
    ("import argparse\nimport timm\n"
     "def get_args():\n    parser = argparse.ArgumentParser()\n"
     "    group = parser.add_argument_group('model')\n"
     "    group.add_argument('--model', default='convnext_tiny', type=str)\n"
     "    return parser.parse_args()\n"
     "args = get_args()\nmodel = timm.create_model(args.model, pretrained=True)",
     "timm/convnext_tiny"),
    ("import torch\nmodel = torch.hub.load('pytorch/vision:v0.10.0', 'resnet152', "
     "pretrained=True)", "resnet152"),
    ("from transformers import AutoConfig, AutoModelForSequenceClassification\n"
     "config = AutoConfig.from_pretrained('roberta-base', num_labels=4)\n"
     "model = AutoModelForSequenceClassification.from_config(config)",
     "roberta-base:RobertaForSequenceClassification"),
]


@pytest.mark.parametrize(("code", "model_id"), FORMS)
def test_every_constructor_form_names_the_model(code: str, model_id: str) -> None:
    head = load_zoo(model_id).head
    assert head is not None
    wrong = "no_such_module."
    found = [d for d in _lint(code, wrong) if d.rule == "FZL101"]
    assert len(found) == 1 and f"`{model_id}`" in found[0].message
    assert "FZL101" not in [d.rule for d in _lint(code, f"{head}.weight")]


@pytest.mark.parametrize("code", [
    # a required option, an option without default, a parser given explicit arguments
    "import argparse\nimport timm\np = argparse.ArgumentParser()\n"
    "p.add_argument('--model', required=True, default='resnet50')\n"
    "model = timm.create_model(p.parse_args().model)",
    "import argparse\nimport timm\np = argparse.ArgumentParser()\np.add_argument('--model')\n"
    "model = timm.create_model(p.parse_args().model)",
    "import argparse\nimport timm\np = argparse.ArgumentParser()\n"
    "p.add_argument('--model', default='resnet50')\n"
    "model = timm.create_model(p.parse_args(['--model', 'vit_base_patch16_224']).model)",
])
def test_arguments_without_a_known_value_give_no_model(code: str) -> None:
    assert "FZL101" not in [d.rule for d in _lint(code, "no_such_module.")]


def _cache(root: Path, repo: str, config: dict) -> None:
    import json

    folder = root / ("models--" + repo.replace("/", "--"))
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("abc123")
    snapshot = folder / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(json.dumps(config))


def test_the_local_hugging_face_cache_is_read_and_must_agree(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from freezelint.models.hf_cache import cached_config, resolve_checkpoint

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    _cache(tmp_path, "roberta-base", {"model_type": "roberta"})
    _cache(tmp_path, "distilbert-base-uncased", {"model_type": "bert"})  # not what the zoo says
    _cache(tmp_path, "my-org/private-model", {"model_type": "llama"})
    assert cached_config("roberta-base") == {"model_type": "roberta"}
    assert resolve_checkpoint("roberta-base", "AutoModel", None) == "roberta-base:RobertaModel"
    assert resolve_checkpoint("distilbert-base-uncased", "AutoModel", None) is None
    assert resolve_checkpoint("my-org/private-model", "AutoModelForCausalLM", None) is None
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert cached_config("roberta-base") is None
    assert resolve_checkpoint("distilbert-base-uncased", "AutoModel", None) == \
        "transformers/DistilBertModel"


@pytest.mark.parametrize(("model_id", "kwargs", "heads"), [
    ("resnet50", {"num_classes": UNEVALUATED}, ("fc",)),
    ("fasterrcnn_resnet50_fpn", {"num_classes": UNEVALUATED},
     ("roi_heads.box_predictor.cls_score", "roi_heads.box_predictor.bbox_pred")),
    ("timm/convnext_tiny", {"num_classes": UNEVALUATED}, ("head.fc",)),
    ("roberta-base:RobertaForSequenceClassification", {"num_labels": UNEVALUATED},
     ("classifier.out_proj",)),
])
def test_an_unevaluated_class_count_leaves_only_the_heads_unknown(
        model_id: str, kwargs: dict, heads: tuple[str, ...]) -> None:
    manifest = load_zoo(model_id, kwargs)
    assert manifest.holes == heads
    assert manifest.parameter_names == load_zoo(model_id).parameter_names

