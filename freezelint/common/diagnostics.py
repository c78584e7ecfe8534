"""What every front end consumes: a Diagnostic with its span, related locations and fixes.

Positions follow libcst: lines are 1-based, columns are 0-based code-point offsets. Front
ends convert (the CLI prints column + 1, the LSP sends line - 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Safety(str, Enum):
    """A safe fix keeps the author's intent (applied by --fix); an unsafe one may change
    behaviour (needs --unsafe-fixes)."""

    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True, order=True)
class Position:
    """A 1-based line and a 0-based column."""

    line: int
    column: int


@dataclass(frozen=True, order=True)
class Span:
    """The text from `start` to `end`."""

    start: Position
    end: Position

    @classmethod
    def of(cls, line: int, column: int, end_line: int, end_column: int) -> Span:
        return cls(Position(line, column), Position(end_line, end_column))

    def to_json(self) -> dict[str, Any]:
        """1-based lines and columns, as printed."""
        return {
            "start": {"line": self.start.line, "column": self.start.column + 1},
            "end": {"line": self.end.line, "column": self.end.column + 1},
        }


@dataclass(frozen=True)
class Edit:
    """Replace the text in `span` with `text`."""

    span: Span
    text: str


@dataclass(frozen=True)
class Fix:
    """Edits that fix a diagnostic, with a title and whether they are safe."""

    title: str
    safety: Safety
    edits: tuple[Edit, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "safety": self.safety.value,
            "edits": [{"range": e.span.to_json(), "text": e.text} for e in self.edits],
        }


@dataclass(frozen=True)
class Related:
    """Another place that explains the diagnostic (the freeze loop that emptied the set)."""

    span: Span
    message: str


@dataclass(frozen=True)
class Diagnostic:
    """One finding of a rule, where it is, what relates to it and how to fix it."""

    rule: str
    name: str
    severity: Severity
    message: str
    span: Span
    related: tuple[Related, ...] = ()
    fixes: tuple[Fix, ...] = ()
    data: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def sort_key(self) -> tuple[int, int, str]:
        return (self.span.start.line, self.span.start.column, self.rule)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "name": self.name,
            "severity": self.severity.value,
            "message": self.message,
            "range": self.span.to_json(),
            "related": [{"range": r.span.to_json(), "message": r.message} for r in self.related],
            "fixes": [f.to_json() for f in self.fixes],
        }


def _span_from(doc: dict[str, Any]) -> Span:
    start, end = doc["start"], doc["end"]
    return Span.of(start["line"], start["column"] - 1, end["line"], end["column"] - 1)


def diagnostic_from_json(doc: dict[str, Any]) -> Diagnostic:
    """The inverse of Diagnostic.to_json (the result cache stores diagnostics as JSON)."""
    return Diagnostic(
        rule=doc["rule"],
        name=doc["name"],
        severity=Severity(doc["severity"]),
        message=doc["message"],
        span=_span_from(doc["range"]),
        related=tuple(Related(_span_from(r["range"]), r["message"]) for r in doc["related"]),
        fixes=tuple(Fix(f["title"], Safety(f["safety"]),
                        tuple(Edit(_span_from(e["range"]), e["text"]) for e in f["edits"]))
                    for f in doc["fixes"]),
    )
