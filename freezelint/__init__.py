"""freezelint: a model-aware linter and autofixer for PyTorch fine-tuning code."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# The runtime audit needs torch (about 2 s to import); linting never does, so these names
# are resolved on first use: `import freezelint` stays light.
_RUNTIME = ("audit", "AuditReport", "FreezelintAuditError", "FreezelintWarning")


def __getattr__(name: str) -> Any:
    if name in _RUNTIME:
        from freezelint import runtime

        return getattr(runtime, name)
    raise AttributeError(f"module 'freezelint' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_RUNTIME])
