"""Positions between the linter and the editor.

freezelint speaks libcst positions over one text: 1-based lines, 0-based columns counted in
code points. LSP speaks 0-based lines and columns in the client's position encoding (UTF-16
unless negotiated otherwise) over one URI per document or notebook cell. A notebook is
linted as one text made of several documents, so every position goes through a `Layout`
that knows which lines came from which URI.

Columns are converted only on lines that are not pure ASCII, where code points and UTF-16
units differ; everywhere else the conversion is free.
"""

from __future__ import annotations

from dataclasses import dataclass

from lsprotocol import types
from pygls.workspace import PositionCodec

from freezelint.common.diagnostics import Position, Span
from freezelint.inputs.notebook import Segment


def to_client_column(line: str, column: int, codec: PositionCodec) -> int:
    """Code points -> client units (UTF-16 by default)."""
    if line.isascii():
        return column
    return codec.client_num_units(line[:column]) + max(column - len(line), 0)


def from_client_column(line: str, character: int, codec: PositionCodec) -> int:
    """Client units -> code points."""
    if line.isascii():
        return character
    units = 0
    for index, char in enumerate(line):
        if units >= character:
            return index
        units += codec.client_num_units(char)
    return len(line)


@dataclass(frozen=True)
class Layout:
    """Where every line of a linted text comes from.

    `lines` are the documents' own lines (before magics or unparsable cells were blanked
    out for the linter), so columns convert against what the editor shows."""

    segments: tuple[Segment, ...]
    lines: tuple[str, ...]
    codec: PositionCodec

    @property
    def uris(self) -> list[str]:
        return [s.uri for s in self.segments]

    def segment_of_line(self, line: int) -> Segment | None:
        """The segment holding 0-based line `line` of the linted text."""
        for segment in self.segments:
            if segment.start <= line < segment.end:
                return segment
        if self.segments and line >= self.segments[-1].end:
            return self.segments[-1]  # a position at the very end of the text
        return None

    def segment_of_uri(self, uri: str) -> Segment | None:
        for segment in self.segments:
            if segment.uri == uri:
                return segment
        return None

    def locate(self, span: Span) -> tuple[str, types.Range] | None:
        """A freezelint span -> (uri, LSP range), clipped to the document it starts in."""
        segment = self.segment_of_line(span.start.line - 1)
        if segment is None:
            return None
        start = self._client(segment, span.start)
        end = self._client(segment, span.end) if span.end.line - 1 < segment.end else None
        if end is None or (end.line, end.character) < (start.line, start.character):
            last = max(segment.end - 1, segment.start)
            end = types.Position(last - segment.start, self._width(last))
        return segment.uri, types.Range(start, end)

    def to_linted(self, uri: str, position: types.Position) -> Position | None:
        """An LSP position in document `uri` -> a freezelint position in the linted text."""
        segment = self.segment_of_uri(uri)
        if segment is None:
            return None
        line = segment.start + position.line
        if not segment.start <= line < segment.end:
            return None
        text = self.lines[line] if line < len(self.lines) else ""
        return Position(line + 1, from_client_column(text, position.character, self.codec))

    def line_text(self, uri: str, line: int) -> str | None:
        """The editor's text of 0-based `line` in document `uri`."""
        segment = self.segment_of_uri(uri)
        if segment is None or not 0 <= segment.start + line < segment.end:
            return None
        return self.lines[segment.start + line]

    def _client(self, segment: Segment, position: Position) -> types.Position:
        line = min(position.line - 1, max(segment.end - 1, segment.start))
        text = self.lines[line] if 0 <= line < len(self.lines) else ""
        return types.Position(line - segment.start, to_client_column(text, position.column, self.codec))

    def _width(self, line: int) -> int:
        text = self.lines[line] if 0 <= line < len(self.lines) else ""
        return to_client_column(text, len(text), self.codec)


def contains(span: Span, position: Position) -> bool:
    """Whether `position` is inside `span`, both ends included (a cursor just after a
    literal still counts as on it)."""
    return span.start <= position <= span.end
