"""Recognise a model constructor in the code and name the zoo model it builds.

`ASTModel(label_dim=10)`, `torchvision.models.resnet50()`, `timm.create_model('...')`,
`BertForSequenceClassification.from_pretrained(...)`: with no `--model`, these tell the
linter which real names to check against. Only shipped manifests are used here: nothing the
user wrote is executed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

AST_KWARGS = ("label_dim", "fstride", "tstride", "input_fdim", "input_tdim", "model_size")

TORCHVISION_MODELS = {
    "resnet18", "resnet34", "resnet50", "resnet101", "vgg16", "densenet121", "efficientnet_b0",
    "mobilenet_v2", "mobilenet_v3_large", "vit_b_16",
}
TIMM_MODELS = {"vit_base_patch16_224", "deit_base_distilled_patch16_384", "resnet50"}
TRANSFORMERS_CLASSES = {
    "BertModel", "BertForSequenceClassification", "ViTForImageClassification",
    "ASTForAudioClassification",
}
# Auto classes: (auto class, substring of the checkpoint name) -> concrete class.
_AUTO = {
    ("AutoModel", "bert"): "BertModel",
    ("AutoModelForSequenceClassification", "bert"): "BertForSequenceClassification",
    ("AutoModelForImageClassification", "vit"): "ViTForImageClassification",
    ("AutoModelForAudioClassification", "ast"): "ASTForAudioClassification",
}


@dataclass(frozen=True)
class ModelRequest:
    """A zoo model and the constructor arguments that change its shapes."""

    model_id: str
    kwargs: dict[str, Any] = field(default_factory=dict, hash=False)


def _literal_kwargs(kwargs: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items()
            if k in keys and isinstance(v, (int, str)) and not isinstance(v, bool)}


def detect_constructor(qualified: str, args: list[Any], kwargs: dict[str, Any]) -> ModelRequest | None:
    """The zoo model `qualified(*args, **kwargs)` builds, or None."""
    parts = qualified.split(".")
    last = parts[-1]
    if last == "ASTModel":
        return ModelRequest("ast", _literal_kwargs(kwargs, AST_KWARGS))
    if parts[0] == "torchvision" and last in TORCHVISION_MODELS:
        return ModelRequest(last, _literal_kwargs(kwargs, ("num_classes",)))
    if qualified == "timm.create_model":
        name = kwargs.get("model_name", args[0] if args else None)
        if isinstance(name, str):
            name = name.partition(".")[0]  # 'vit_base_patch16_224.augreg_in21k' -> arch
            if name in TIMM_MODELS:
                return ModelRequest(f"timm/{name}", _literal_kwargs(kwargs, ("num_classes",)))
        return None
    if parts[0] == "transformers" and last in {"from_pretrained", "from_config"} and len(parts) >= 2:
        cls = parts[-2]
        extra = _labels(kwargs)
        if cls in TRANSFORMERS_CLASSES:
            return ModelRequest(f"transformers/{cls}", extra)
        checkpoint = args[0] if args and isinstance(args[0], str) else ""
        for (auto, marker), concrete in _AUTO.items():
            if cls == auto and marker in checkpoint.lower():
                return ModelRequest(f"transformers/{concrete}", extra)
    if parts[0] == "transformers" and last in TRANSFORMERS_CLASSES:
        return ModelRequest(f"transformers/{last}", {})
    return None


def _labels(kwargs: dict[str, Any]) -> dict[str, Any]:
    labels = kwargs.get("num_labels")
    if isinstance(labels, int) and not isinstance(labels, bool):
        return {"num_labels": labels}
    return {}
