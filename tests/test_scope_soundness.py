"""Issue 13, classes 2 and 5, from real repositories: a model is never carried to a name the
code did not bind to it, and a PEFT-wrapped model is not its base model.

An unknown name used like a model (`model.named_parameters()`) is the model the user named
(--model, configuration, directive), or unknown: never the model the script builds in
another function (LoRA's and PEFT's test suites build one model per test), nor the base
model after `get_peft_model` returned the wrapper (PEFT's examples).
"""

from __future__ import annotations

import textwrap

from freezelint.engine.lint import LintConfig, lint, lint_result
from freezelint.models.zoo import load_zoo


def rules(code: str, config: LintConfig | None = None) -> list[str]:
    return [d.rule for d in lint(textwrap.dedent(code), config)]


# microsoft/LoRA examples/NLU/tests/test_trainer.py, reduced: BERT in one test, a small
# Sequential in another whose real names the literals are.
TWO_TESTS = """\
    import torch
    from transformers import BertForSequenceClassification


    def test_bert():
        model = BertForSequenceClassification.from_pretrained("bert-base-uncased")
        model.train()


    def test_no_wd_param_group(make_model):
        model = make_model()
        wd_names = ['0.linear1.weight', '1.0.linear2.weight']
        wd_params = [p for n, p in model.named_parameters() if n in wd_names]
    """


def test_a_model_built_in_another_function_is_not_this_ones() -> None:
    assert rules(TWO_TESTS) == []
    # What was not checked is said.
    coverage = lint_result(textwrap.dedent(TWO_TESTS)).coverage
    assert coverage.unchecked() == {"name test": 1}


def test_the_user_named_model_still_reaches_a_helper() -> None:
    """With --model the user says which model the script trains: a helper's parameter is
    that model, as before."""
    helper = """\
        def freeze(model):
            for name, p in model.named_parameters():
                if name != 'fc.weight':
                    p.requires_grad = False
        """
    assert rules(helper, LintConfig(model=load_zoo("ast", {}))) == ["FZL101", "FZL103"]
    assert rules(helper) == []


# huggingface/peft examples/sequence_classification/VeRA.ipynb, reduced.
PEFT = """\
    import torch
    from peft import VeraConfig, get_peft_model
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
    model = get_peft_model(model, VeraConfig(task_type="SEQ_CLS", r=8))
    optimizer = torch.optim.AdamW([
        {"params": [p for n, p in model.named_parameters() if "vera_lambda_" in n]},
        {"params": [p for n, p in model.named_parameters() if "classifier" in n]},
    ])
    """


def test_a_peft_wrapped_model_is_not_its_base_model() -> None:
    """`vera_lambda_` and the `classifier` copy exist on the wrapper, not on BERT."""
    assert rules(PEFT) == []
    coverage = lint_result(textwrap.dedent(PEFT)).coverage
    assert coverage.unchecked()["name test"] == 2


def test_peft_targets_in_the_models_other_naming_are_converted_by_peft() -> None:
    """PEFT's ViT examples target `query`/`value` (transformers 4.x names); on a 5.x model
    PEFT rewrites them to `q_proj`/`v_proj` itself, so they reach layers; a typo does not."""
    code = """\
        from peft import LoraConfig, get_peft_model
        from transformers import AutoModelForImageClassification

        model = AutoModelForImageClassification.from_pretrained(
            "google/vit-base-patch16-224-in21k")
        model = get_peft_model(model, LoraConfig(r=16, target_modules=["query", "value"]))
        """
    assert rules(code) == []
    assert rules(code.replace('"value"', '"valeu"')) == ["FZL401"]
