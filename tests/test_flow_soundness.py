"""Issue 13, classes 3, 4 and 10, from real fine-tuning code: unknown is never empty, a part
is never the whole, and ordinary code does not make everything unknown.

- class 3: an optimizer over `list(model.named_parameters())` of a model the analysis does
  not know, filtered through a lambda, is not "an empty parameter list";
- class 4: freezing the blocks of a container (`for layer in model.bert.encoder.layer[:8]`),
  by index in a loop or by slice is not freezing the whole model, and a LightningModule's
  `self.backbone.requires_grad_(False)` is not the whole module;
- class 10: a helper defined in the script (`train(model, loader)`) is followed, and a
  library call that only reads the model (`timm.data.resolve_data_config(model=model)`)
  keeps what is known, so `explain` still shows what trains.
"""

from __future__ import annotations

import textwrap

from freezelint.engine.lint import analyze, lint


def rules(code: str) -> list[str]:
    return [d.rule for d in lint(textwrap.dedent(code))]


def test_an_unknown_models_parameters_are_not_an_empty_list() -> None:
    code = """\
        import torch
        from transformers import BertForSequenceClassification

        model = BertForSequenceClassification.from_pretrained("bert-base-uncased")

        def get_params(m):
            return list(m.named_parameters())

        params = get_params(other_model)
        opt = torch.optim.AdamW([p for n, p in filter(lambda x: "bias" not in x[0], params)])
        """
    assert rules(code) == []
    assert analyze(textwrap.dedent(code)).coverage.unchecked() == {"optimizer": 1}


def test_freezing_blocks_of_a_container_is_not_freezing_the_whole_model() -> None:
    code = """\
        import torch
        from transformers import BertForSequenceClassification

        model = BertForSequenceClassification.from_pretrained("bert-base-uncased")
        for layer in model.bert.encoder.layer[:8]:
            for p in layer.parameters():
                p.requires_grad = False
        for i in range(4):
            for p in model.bert.encoder.layer[i].parameters():
                p.requires_grad = False
        for p in model.bert.encoder.layer[:2].parameters():
            p.requires_grad = False
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad])
        """
    assert rules(code) == []


def test_a_lightning_backbone_is_not_the_whole_module() -> None:
    code = """\
        import torch
        import torchvision
        import lightning as L

        class Net(L.LightningModule):
            def __init__(self):
                super().__init__()
                self.backbone = torchvision.models.resnet18(weights=None)
                self.head = torch.nn.Linear(1000, 10)
                self.backbone.requires_grad_(False)

            def configure_optimizers(self):
                return torch.optim.Adam(filter(lambda p: p.requires_grad, self.parameters()))
        """
    assert rules(code) == []


def test_project_helpers_and_read_only_library_calls_keep_the_state() -> None:
    code = textwrap.dedent("""\
        import timm
        import torch
        from timm.data import resolve_data_config

        def train(model, loader):
            for x in loader:
                model(x)

        model = timm.create_model("resnet50", pretrained=True)
        for n, p in model.named_parameters():
            if not n.startswith("fc"):
                p.requires_grad = False
        config = resolve_data_config(model=model)
        train(model, [])
        opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
        """)
    analysis = analyze(code)
    assert analysis.diagnostics == []
    (summary,) = analysis.optimizers
    assert (summary.trained, summary.total) == (2, 161)  # fc.weight and fc.bias
    (state,) = analysis.trainable
    assert [n for n, v in state.items() if v] == ["fc.weight", "fc.bias"]
