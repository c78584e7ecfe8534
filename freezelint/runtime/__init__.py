"""The runtime audit: the dynamic twin of the static rules, run on the live model and optimizer.

Static analysis cannot see every script (models built from configs, freezing inside
callbacks, param groups built by libraries); at runtime the truth is one call away:

    import freezelint
    report = freezelint.audit(model, optimizer)            # warns per problem
    freezelint.audit(model, optimizer, on_problem="raise")  # or stops the run
    print(report.table())

The findings are ordinary `Diagnostic`s with the static rules' ids and names (FZL103,
FZL108, FZL201, FZL202, FZL203, FZL301, FZL306), so the rule catalog explains both.
Importing this package imports torch, never lightning or transformers (`callbacks` builds its
classes when one is constructed).
"""

from __future__ import annotations

from freezelint.runtime.core import (
    AuditReport,
    FreezelintAuditError,
    FreezelintWarning,
    audit,
)
from freezelint.runtime.table import ModuleRow

__all__ = ["AuditReport", "FreezelintAuditError", "FreezelintWarning", "ModuleRow", "audit"]
