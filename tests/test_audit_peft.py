"""The runtime audit on a live PeftModel (FZL401/FZL403 per entry): real transformers
architectures built on the meta device, wrapped by the real PEFT (needs peft; run in the
generation environment, /work/zoovenv, where it is installed)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
peft = pytest.importorskip("peft")

from freezelint.runtime import audit  # noqa: E402


def bert_classifier():
    config = transformers.BertConfig(num_hidden_layers=1)
    with torch.device("meta"):
        return transformers.BertForSequenceClassification(config)


def rules(report) -> list[tuple[str, str]]:
    return [(d.rule, d.message) for d in report.diagnostics]


def test_entries_that_matched_nothing_are_reported():
    model = peft.get_peft_model(bert_classifier(), peft.LoraConfig(
        target_modules=["query", "v_proj"], modules_to_save=["pooler", "score_head"],
        task_type="SEQ_CLS"))
    found = rules(audit(model, on_problem="return"))
    assert [r for r, _ in found] == ["FZL401", "FZL403"]
    assert "'v_proj' of adapter 'default' names no module" in found[0][1]
    assert "'score_head' of adapter 'default' ends no module name" in found[1][1]


def test_entries_that_match_are_clean():
    # "classifier" and "score" are added by PEFT for SEQ_CLS; BERT has no `score`.
    model = peft.get_peft_model(bert_classifier(), peft.LoraConfig(
        target_modules=["query", "value"], modules_to_save=["pooler"], task_type="SEQ_CLS"))
    assert audit(model, on_problem="return").diagnostics == []
