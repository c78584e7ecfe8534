"""The audit's summary: one row per top-level module (the model's children), then totals.

The question it answers at a glance is "what will this run actually train?": parameter
tensors and elements, how many elements are trainable, how many an optimizer holds, and
how many BatchNorm layers are in training mode. Rendered with rich when it is importable
(it is a dependency, but the audit must not fail on a stripped environment), as aligned
plain text otherwise.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from torch.nn.modules.batchnorm import _BatchNorm

from freezelint.runtime.live_checks import LiveState

ROOT = "(own)"  # parameters registered on the model itself (AST's own tokens, say)
HEADERS = ("module", "type", "tensors", "parameters", "trainable", "in optimizer", "BN train")


@dataclass
class ModuleRow:
    name: str
    type: str
    tensors: int = 0
    elements: int = 0
    trainable: int = 0
    optimized: int = 0  # elements an optimizer holds
    training_elements: int = 0  # trainable and held by an optimizer: what `step()` updates
    bn_layers: int = 0
    bn_train: int = 0


def module_rows(live: LiveState) -> list[ModuleRow]:
    """One pass over the parameters and one over the modules; a parameter belongs to the
    first top-level child that registers it (tied weights count once, as in the model)."""
    rows: dict[str, ModuleRow] = {}
    for name, child in live.model.named_children():
        rows[name] = ModuleRow(name, type(child).__name__)
    has_optimizer = live.has_optimizer
    for param in live.params:
        top, dot, _ = param.name.partition(".")
        key = top if dot else ROOT
        row = rows.get(key)
        if row is None:
            row = rows[key] = ModuleRow(key, type(live.model).__name__)
        row.tensors += 1
        row.elements += param.numel
        if param.trainable:
            row.trainable += param.numel
            if param.held or not has_optimizer:
                row.training_elements += param.numel
        if param.held:
            row.optimized += param.numel
    for path, module in live.modules:
        if isinstance(module, _BatchNorm):
            key = path.partition(".")[0] if path else ROOT
            row = rows.get(key)
            if row is None:
                row = rows[key] = ModuleRow(key, type(live.model).__name__)
            row.bn_layers += 1
            row.bn_train += module.training
    ordered = [rows[ROOT]] if ROOT in rows else []
    ordered += [row for key, row in rows.items() if key != ROOT]
    return [row for row in ordered if row.tensors or row.bn_layers]  # not ReLU, pooling


def total_row(rows: list[ModuleRow]) -> ModuleRow:
    total = ModuleRow("total", "")
    for row in rows:
        total.tensors += row.tensors
        total.elements += row.elements
        total.trainable += row.trainable
        total.optimized += row.optimized
        total.training_elements += row.training_elements
        total.bn_layers += row.bn_layers
        total.bn_train += row.bn_train
    return total


def headline(rows: list[ModuleRow]) -> str:
    """`0 of 5.5M parameters train`: trainable and (with an optimizer) held by one."""
    total = total_row(rows)
    share = ""
    if total.elements and 0 < total.training_elements < total.elements:
        share = f" ({100 * total.training_elements / total.elements:.2g}%)"
    return f"{human(total.training_elements)} of {human(total.elements)} parameters train{share}"


def render_table(rows: list[ModuleRow], has_optimizer: bool, plain: bool = False) -> str:
    """The table and its headline as text (no colour codes: callers print it anywhere)."""
    cells = [_cells(row, has_optimizer) for row in rows]
    total = _cells(total_row(rows), has_optimizer)
    if not plain:
        try:
            return _render_rich(cells, total) + headline(rows) + "\n"
        except ImportError:
            pass
    return _render_plain(cells, total) + headline(rows) + "\n"


def _cells(row: ModuleRow, has_optimizer: bool) -> tuple[str, ...]:
    return (row.name, row.type, str(row.tensors), human(row.elements), human(row.trainable),
            human(row.optimized) if has_optimizer else "-",
            f"{row.bn_train}/{row.bn_layers}" if row.bn_layers else "-")


def _render_rich(cells: list[tuple[str, ...]], total: tuple[str, ...]) -> str:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_footer=True, show_edge=False, pad_edge=False)
    for index, header in enumerate(HEADERS):
        table.add_column(header, footer=total[index],
                         justify="left" if index < 2 else "right", no_wrap=True)
    for row in cells:
        table.add_row(*row)
    buffer = io.StringIO()
    width = sum(max(len(r[i]) for r in [*cells, total, HEADERS]) for i in range(len(HEADERS)))
    console = Console(file=buffer, width=width + 3 * len(HEADERS) + 2, color_system=None,
                      force_terminal=False, force_jupyter=False, soft_wrap=False)
    console.print(table)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def _render_plain(cells: list[tuple[str, ...]], total: tuple[str, ...]) -> str:
    rows = [HEADERS, *cells, total]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    lines = []
    for index, row in enumerate(rows):
        if index == len(rows) - 1:
            lines.append("  ".join("-" * w for w in widths))
        lines.append("  ".join(cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i])
                               for i, cell in enumerate(row)).rstrip())
    return "\n".join(lines) + "\n"


def human(count: int) -> str:
    """5_530_000 -> '5.5M': the magnitude matters, not the digits (as `freezelint params`)."""
    for factor, unit in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if count >= factor:
            return f"{count / factor:.1f}{unit}"
    return str(count)
