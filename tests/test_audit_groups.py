"""The runtime audit's param-group checks (FZL207 a parameter stepped twice, FZL208 an empty
group) on the AST reference architecture built on the meta device."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from freezelint.models.architectures.ast_model import ASTModel  # noqa: E402
from freezelint.runtime import audit  # noqa: E402


def ast_model() -> ASTModel:
    with torch.device("meta"):
        return ASTModel(label_dim=10, input_fdim=32, input_tdim=32, model_size="tiny224",
                        imagenet_pretrain=False, audioset_pretrain=False)


def rules(report) -> list[str]:
    return [d.rule for d in report.diagnostics]


def test_a_head_in_two_optimizers_is_reported():
    model = ast_model()
    body = [p for n, p in model.named_parameters() if not n.startswith("mlp_head.")]
    first = torch.optim.SGD(body + list(model.mlp_head.parameters()), lr=0.1)
    second = torch.optim.Adam(model.mlp_head.parameters(), lr=1e-3)
    report = audit(model, [first, second], on_problem="return")
    assert rules(report) == ["FZL207"]
    assert "4 parameters of `ASTModel` (`mlp_head.0.weight`, `mlp_head.0.bias` and 2 more) " \
        "are in two optimizers" in report.diagnostics[0].message


def test_an_empty_group_is_reported():
    model = ast_model()
    head = [p for n, p in model.named_parameters() if n.startswith("classifier.")]  # none
    optimizer = torch.optim.SGD([{"params": list(model.parameters())},
                                 {"params": head, "lr": 1e-2}], lr=1e-3)
    report = audit(model, optimizer, on_problem="return")
    assert rules(report) == ["FZL208"]
    assert "param group 1 of SGD holds no parameter" in report.diagnostics[0].message
    assert "lr=0.01" in report.diagnostics[0].message


def test_disjoint_groups_are_clean():
    model = ast_model()
    body = [p for n, p in model.named_parameters() if not n.startswith("mlp_head.")]
    optimizer = torch.optim.SGD([{"params": body}, {"params": model.mlp_head.parameters(), "lr": 1e-2}],
                                lr=1e-3)
    assert audit(model, optimizer, on_problem="return").diagnostics == []
