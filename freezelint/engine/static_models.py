"""The static class reader, as the front ends hand it to the model resolver.

`freezelint.models` may not import the analysis (one direction: analysis -> models), yet a
`file.py:Class` spec is read from its source by the analysis's class reader before anything
is built. The front ends (CLI, language server, directives) pass `read_class` here to
`resolve_model(..., read_class=...)`; it imports the reader on first use only, so that
`--model ast` costs no parser import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from freezelint.models.manifest import Manifest


def read_class(path: Path, class_name: str, kwargs: dict[str, Any]) -> Manifest | None:
    """`class_name(**kwargs)` defined in `path`, read statically (analysis/classes): its
    manifest, None when it is no nn.Module class the reader can construct; LookupError when
    the file or the class does not exist."""
    from freezelint.analysis.classes import read_class as read

    return read(path, class_name, kwargs)
