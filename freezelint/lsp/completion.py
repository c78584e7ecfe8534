"""Completion of real parameter and module names inside string literals.

Offered inside a string on a line that tests or looks up names (`name != '`,
`name.startswith('`, `'...' in name`, `state_dict['`), or when what is typed is already
the start of a real dotted name: `'mlp_head.` offers `mlp_head.0.weight`,
`mlp_head.1.weight`, ... Anywhere else a string is just a string, and a list of 159
parameter names would be noise.

While a string is being typed the text usually does not parse (the quote is not closed),
so the names come from the last lint that found a model, not from the current text.
"""

from __future__ import annotations

import re

from lsprotocol import types
from pygls.workspace import PositionCodec

from freezelint.lsp.text import from_client_column, to_client_column
from freezelint.models.manifest import Manifest

TRIGGERS = ["'", '"', "."]
LIMIT = 500
_CONTEXT = re.compile(
    r"==|!=|\bin\b|startswith\(|endswith\(|\[|\.get\(|\.pop\(|\bre\.\w+\(|"
    r"state_dict|named_parameters|named_modules|named_buffers|parameters_under|"
    r"target_modules|modules_to_save|exclude_modules")
_NAME_CHARS = re.compile(r"[\w.]*")
# A PEFT config's module lists: PEFT matches an entry against the end of module names, so
# what helps is the layers' own names (`query`, `c_attn`), not full paths.
_PEFT_CONTEXT = re.compile(r"\b(?:target_modules|modules_to_save|exclude_modules)\s*=")


def complete(line: str, line_number: int, character: int, codec: PositionCodec,
             models: list[Manifest]) -> types.CompletionList | None:
    column = from_client_column(line, character, codec)
    start = open_string(line, column)
    if start is None or not models:
        return None
    prefix = line[start:column]
    if not _NAME_CHARS.fullmatch(prefix):
        return None
    candidates = _peft_candidates(models) if _PEFT_CONTEXT.search(line[:start]) \
        else _candidates(models)
    starts_real_name = "." in prefix and any(name.startswith(prefix) for name, _, _ in candidates)
    if not (_CONTEXT.search(line) or starts_real_name):
        return None
    replaced = types.Range(types.Position(line_number, to_client_column(line, start, codec)),
                           types.Position(line_number, character))
    items = []
    for index, (name, kind, detail) in enumerate(candidates):
        if name.startswith(prefix):
            items.append(types.CompletionItem(
                label=name, kind=kind, detail=detail, sort_text=f"{index:06d}",
                filter_text=name, text_edit=types.TextEdit(replaced, name)))
    return types.CompletionList(is_incomplete=len(items) > LIMIT, items=items[:LIMIT])


def open_string(line: str, column: int) -> int | None:
    """The column just after the opening quote of the string that `column` is inside, or
    None when it is not inside a string (or is in a comment)."""
    quote: str | None = None
    start = 0
    index = 0
    while index < min(column, len(line)):
        char = line[index]
        if quote is not None:
            if char == "\\":
                index += 2
                continue
            if line.startswith(quote, index):
                index += len(quote)
                quote = None
                continue
        elif char == "#":
            return None
        elif char in "'\"":
            quote = char * 3 if line.startswith(char * 3, index) else char
            index += len(quote)
            start = index
            continue
        index += 1
    return start if quote is not None else None


def _candidates(models: list[Manifest]) -> list[tuple[str, types.CompletionItemKind, str]]:
    """Parameters, then buffers, then modules, each in registration order."""
    seen: set[str] = set()
    found: list[tuple[str, types.CompletionItemKind, str]] = []

    def add(name: str, kind: types.CompletionItemKind, detail: str) -> None:
        if name and name not in seen:
            seen.add(name)
            found.append((name, kind, detail))

    for manifest in models:
        for tensor in manifest.parameters:
            add(tensor.name, types.CompletionItemKind.Field,
                f"{list(tensor.shape) if tensor.sized else '[?]'} {tensor.dtype} · "
                f"parameter of {manifest.name}")
        for tensor in manifest.buffers:
            add(tensor.name, types.CompletionItemKind.Variable,
                f"{list(tensor.shape) if tensor.sized else '[?]'} {tensor.dtype} · "
                f"buffer of {manifest.name}")
        module_types = {info.path: info.type for info in manifest.modules}
        for path in manifest.module_paths:
            kind_name = module_types.get(path, "?")
            kind_name = "module" if kind_name == "?" else kind_name
            add(path, types.CompletionItemKind.Module, f"{kind_name} · module of {manifest.name}")
    return found


def _peft_candidates(models: list[Manifest]) -> list[tuple[str, types.CompletionItemKind, str]]:
    """The names layers are known by (the last part of their path), one item per name, with
    its type, how many layers carry it and the first of them."""
    found: dict[str, tuple[str, int, str]] = {}
    for manifest in models:
        for info in manifest.modules:
            if not info.path:
                continue
            name = info.path.rpartition(".")[2]
            if name.isdigit():
                continue
            kind, count, first = found.get(name, (info.type, 0, info.path))
            found[name] = (kind, count + 1, first)
    return [(name, types.CompletionItemKind.Module,
             f"{kind} x{count} · {first}" if count > 1 else f"{kind} · {first}")
            for name, (kind, count, first) in found.items()]
