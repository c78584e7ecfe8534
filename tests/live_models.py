"""Real transformers architectures, built live on the meta device (no weights, no network),
for tests that need models the shipped zoo may not hold: GPT-2, OPT, LLaMA, RoBERTa...

`live_manifest("GPT2LMHeadModel", "GPT2Config")` builds the class with its configuration's
defaults (the architecture of the model's original release: gpt2 small, opt-350m-like
decoder, LLaMA-7B) and reads its names with freezelint's own introspection. Skips the test
when torch or transformers is not installed."""

from __future__ import annotations

import warnings
from functools import cache
from typing import Any

import pytest

from freezelint.models.introspect import manifest_from_module
from freezelint.models.manifest import Manifest


@cache
def _build(class_name: str, config_name: str, overrides: tuple[tuple[str, Any], ...]) -> Manifest:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config = getattr(transformers, config_name)(**dict(overrides))
        with torch.device("meta"):
            model = getattr(transformers, class_name)(config)
    return manifest_from_module(model, class_name, "test",
                                meta={"library": "transformers",
                                      "version": transformers.__version__})


def live_manifest(class_name: str, config_name: str, **overrides: Any) -> Manifest:
    return _build(class_name, config_name, tuple(sorted(overrides.items())))
