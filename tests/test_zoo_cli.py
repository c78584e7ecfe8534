"""`freezelint models [FILTER]`: the zoo listed and filtered from the command line."""

from __future__ import annotations

import json

from helpers import invoke


def test_models_lists_the_whole_zoo() -> None:
    result = invoke("models")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["ID", "LIBRARY", "PARAMS", "DESCRIPTION"]
    assert len(lines) > 2000
    libraries = {line.split()[1] for line in lines[1:]}
    assert libraries == {"freezelint", "torchvision", "timm", "transformers"}


def test_models_filters_by_text_and_library() -> None:
    result = invoke("models", "convnext_tiny")
    assert result.exit_code == 0
    ids = [line.split()[0] for line in result.output.splitlines()[1:]]
    assert "convnext_tiny" in ids and "timm/convnext_tiny" in ids
    assert all("convnext_tiny" in i.lower() or "convnext" in i.lower() for i in ids)
    timm_only = invoke("models", "convnext", "--library", "timm", "--json")
    entries = json.loads(timm_only.output)
    assert entries and all(e["library"] == "timm" for e in entries)
    assert "timm/convnext_tiny" in {e["id"] for e in entries}


def test_models_filter_reaches_hugging_face_ids() -> None:
    result = invoke("models", "roberta-base", "--json")
    ids = {e["id"] for e in json.loads(result.output)}
    assert "roberta-base:RobertaForSequenceClassification" in ids


def test_models_without_a_match_says_so_and_exits_1() -> None:
    result = invoke("models", "no-such-architecture")
    assert result.exit_code == 1
    assert "No zoo model matches 'no-such-architecture'" in result.stderr
