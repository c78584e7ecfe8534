"""A fix that needs an import adds it once, after the file's imports, and uses the name the
file already has for torch.nn when there is one."""

from __future__ import annotations

import textwrap

from freezelint.engine.fixes import fix_text


def fixed(code: str) -> str:
    return fix_text(textwrap.dedent(code), unsafe=True).text


def test_two_fixes_needing_nn_add_one_import():
    result = fixed("""\
        import torchvision

        teacher = torchvision.models.resnet50(weights=None)
        student = torchvision.models.resnet18(weights=None)
        teacher.fc.out_features = 3
        student.fc.out_features = 3
    """)
    assert result == textwrap.dedent("""\
        import torchvision
        from torch import nn

        teacher = torchvision.models.resnet50(weights=None)
        student = torchvision.models.resnet18(weights=None)
        teacher.fc = nn.Linear(teacher.fc.in_features, 3)
        student.fc = nn.Linear(student.fc.in_features, 3)
    """)


def test_existing_names_for_torch_nn_are_used():
    assert "model.fc = torch.nn.Linear(model.fc.in_features, 3)" in fixed("""\
        import torch
        import torchvision
        model = torchvision.models.resnet50(weights=None)
        model.fc.out_features = 3
    """)
    with_alias = fixed("""\
        import torch.nn as tnn
        import torchvision
        model = torchvision.models.resnet50(weights=None)
        model.fc.out_features = 3
    """)
    assert "model.fc = tnn.Linear(model.fc.in_features, 3)" in with_alias
    assert "from torch import nn" not in with_alias


def test_in_features_keeps_the_output_size():
    assert "model.fc = nn.Linear(512, model.fc.out_features)" in fixed("""\
        from torch import nn
        import torchvision
        model = torchvision.models.resnet18(weights=None)
        model.fc.in_features = 512
    """)
