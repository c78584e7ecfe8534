"""Hugging Face checkpoint ids -> zoo models, exactly: the local cache first, then the zoo's
table, otherwise unknown.

`from_pretrained("roberta-base")` builds what the checkpoint's `config.json` says. When the
checkpoint is in the local Hugging Face cache (`$HF_HUB_CACHE`, `$HF_HOME/hub`, or
`~/.cache/huggingface/hub`), its `config.json` is read (never the network) and must agree
with the zoo's entry for that id (same model type); a cached checkpoint the zoo does not
know stays unknown rather than being matched by name. Without a cached copy the zoo's table
of popular ids decides. The Auto class used picks the head (`AutoModelForSequenceClassification`
+ a LLaMA id = `LlamaForSequenceClassification`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from freezelint.models.zoo import hf_model_id, hf_model_type


def hub_cache() -> Path:
    """The hub cache folder, by huggingface_hub's own precedence of variables."""
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        value = os.environ.get(variable)
        if value:
            return Path(value).expanduser()
    home = os.environ.get("HF_HOME")
    if home:
        return Path(home).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def cached_config(repo_id: str, revision: str = "main") -> dict[str, Any] | None:
    """The `config.json` of `repo_id` in the local cache, or None (not cached, unreadable)."""
    if repo_id.count("/") > 1 or not repo_id or repo_id.startswith((".", "/", "~")):
        return None
    folder = hub_cache() / ("models--" + repo_id.replace("/", "--"))
    try:
        commit = (folder / "refs" / revision).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    config = folder / "snapshots" / commit / "config.json"
    try:
        doc = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def resolve_checkpoint(checkpoint: str, auto_class: str | None,
                       class_name: str | None) -> str | None:
    """The zoo id `Class.from_pretrained(checkpoint)` builds, or None when not known
    exactly. Give the Auto class used (`AutoModel...`) or the concrete class name."""
    cached = cached_config(checkpoint)
    if cached is not None and cached.get("model_type") != hf_model_type(checkpoint):
        return None  # a local checkpoint of that name that the zoo does not describe
    return hf_model_id(checkpoint, auto_class, class_name)
