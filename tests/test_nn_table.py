"""The torch.nn layer table, generated from torch, against live torch layers.

Linting evaluates `nn_table.json` without torch; here every answer is compared with what
torch itself registers for the same constructor call (names in order, shapes, buffers)."""

from __future__ import annotations

import random

import pytest

from freezelint.models import nn_table

# Constructor calls as real models write them (positional and keyword, flags, tuples).
CALLS = [
    ("Linear", (768, 10), {}),
    ("Linear", (64, 64), {"bias": False}),
    ("Conv2d", (3, 64, 7, 2, 3), {"bias": False}),
    ("Conv2d", (32, 32, (3, 5)), {"groups": 4}),
    ("Conv1d", (80, 256, 3), {"padding": 1}),
    ("Conv3d", (1, 8, (3, 3, 3)), {}),
    ("ConvTranspose2d", (128, 64, 2), {"stride": 2}),
    ("ConvTranspose1d", (16, 8, 4), {"groups": 2, "bias": False}),
    ("BatchNorm2d", (64,), {}),
    ("BatchNorm1d", (32,), {"affine": False}),
    ("BatchNorm2d", (16,), {"track_running_stats": False}),
    ("InstanceNorm2d", (16,), {"affine": True}),
    ("GroupNorm", (8, 64), {}),
    ("LayerNorm", (512,), {}),
    ("LayerNorm", ((14, 14),), {"elementwise_affine": False}),
    ("LayerNorm", (256,), {"bias": False}),
    ("RMSNorm", (128,), {}),
    ("Embedding", (50257, 768), {}),
    ("Embedding", (1000, 64), {"padding_idx": 0}),
    ("EmbeddingBag", (100, 16), {"mode": "sum"}),
    ("LSTM", (128, 256), {"num_layers": 2, "batch_first": True}),
    ("LSTM", (40, 64, 3), {"bidirectional": True, "proj_size": 32}),
    ("GRU", (10, 20), {"num_layers": 3, "bias": False, "bidirectional": True}),
    ("RNN", (8, 16), {"batch_first": True}),
    ("LSTMCell", (10, 20), {}),
    ("MultiheadAttention", (512, 8), {}),
    ("MultiheadAttention", (64, 4), {"kdim": 32, "vdim": 16, "bias": False}),
    ("MultiheadAttention", (64, 4), {"add_bias_kv": True, "batch_first": True}),
    ("TransformerEncoderLayer", (256, 8), {"dim_feedforward": 1024, "batch_first": True}),
    ("TransformerDecoderLayer", (128, 4), {"norm_first": True, "bias": False}),
    ("Transformer", (), {"d_model": 64, "nhead": 4, "num_encoder_layers": 2,
                         "num_decoder_layers": 3, "dim_feedforward": 128}),
    ("PReLU", (), {"num_parameters": 64}),
    ("Bilinear", (20, 30, 40), {}),
    ("Identity", (54,), {"unused_argument1": 0.1}),
    ("Dropout", (0.1,), {}),
    ("ReLU", (), {"inplace": True}),
    ("MaxPool2d", (3, 2, 1), {}),
]


def _live(torch, name: str, args: tuple, kwargs: dict) -> list[tuple]:  # type: ignore[no-untyped-def]
    with torch.device("meta"):
        module = getattr(torch.nn, name)(*args, **kwargs)
    records: list[tuple] = []
    for path, sub in module.named_modules():
        records.append(("m", path, type(sub).__name__))
        prefix = path + "." if path else ""
        for pname, param in sub.named_parameters(recurse=False):
            records.append(("p", prefix + pname, tuple(param.shape)))
        for bname, buffer in sub.named_buffers(recurse=False):
            persistent = bname not in sub._non_persistent_buffers_set
            records.append(("b", prefix + bname, tuple(buffer.shape), persistent))
    return records


def _static(name: str, args: tuple, kwargs: dict) -> list[tuple] | None:
    records = nn_table.layer(name, list(args), dict(kwargs))
    if records is None:
        return None
    out: list[tuple] = []
    for r in records:
        if isinstance(r, nn_table.Module):
            out.append(("m", r.path, r.type))
        elif isinstance(r, nn_table.Tensor):
            out.append(("b", r.name, r.shape, r.persistent) if r.buffer else ("p", r.name, r.shape))
    return out


@pytest.mark.torch
@pytest.mark.parametrize(("name", "args", "kwargs"), CALLS, ids=[c[0] for c in CALLS])
def test_layer_matches_torch(name: str, args: tuple, kwargs: dict) -> None:
    torch = pytest.importorskip("torch")
    assert _static(name, args, kwargs) == _live(torch, name, args, kwargs)


@pytest.mark.torch
def test_module_argument_is_registered_per_copy() -> None:
    """TransformerEncoder deep-copies its layer num_layers times: the table says where."""
    torch = pytest.importorskip("torch")
    with torch.device("meta"):
        layer = torch.nn.TransformerEncoderLayer(32, 4, 64)
        norm = torch.nn.LayerNorm(32)
    records = nn_table.layer("TransformerEncoder", [layer, 3], {"norm": norm})
    assert records is not None
    splices = [(r.path, r.value) for r in records if isinstance(r, nn_table.Splice)]
    assert splices == [("layers.0", layer), ("layers.1", layer), ("layers.2", layer),
                       ("norm", norm)]


def test_unknown_or_unmodelled_arguments_are_holes() -> None:
    unknown = nn_table.UNKNOWN_ARG
    assert nn_table.layer("Linear", [unknown, 10], {}) is None      # a shape unknown
    assert nn_table.layer("Linear", [3, 10], {"bias": unknown}) is None
    assert nn_table.layer("Linear", [3, 10], {"no_such_arg": 1}) is None
    assert nn_table.layer("LazyLinear", [10], {}) is None           # no shape until called
    # What changes nothing torch registers may stay unknown.
    assert nn_table.layer("Dropout", [unknown], {}) is not None
    assert nn_table.layer("Conv2d", [3, 8, 3], {"padding": unknown}) is not None


@pytest.mark.torch
def test_every_modelled_class_survives_fresh_random_builds() -> None:
    """The generator's own check, with seeds it never saw: 10 random builds per class."""
    pytest.importorskip("torch")
    from freezelint.models import nn_table_generator as generator

    classes = generator.module_classes()
    table = nn_table._table()["classes"]
    assert set(table) == set(classes)
    modelled = [name for name, spec in table.items() if spec is not None]
    assert len(modelled) >= 130
    for name in modelled:
        generator.verify(classes[name], table[name], random.Random(f"{name}/test"), rounds=10)
