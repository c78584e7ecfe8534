"""What the editor holds (a script, VS Code notebook cells, JupyterLab's notebook text) ->
one text the linter can parse. The editor-independent core (blanking magics, skipping a
cell that does not parse, one segment per cell) is `freezelint.inputs.notebook`, shared with the
CLI's `.ipynb` support; only JupyterLab's single-text form is particular to the server.
"""

from __future__ import annotations

from freezelint.inputs.notebook import (
    Part,
    Prepared,
    Segment,
    prepare_cells,
    prepare_lines,
    prepare_script,
    split_keep_ends,
    split_lines,
    syntax_error,
)

__all__ = ["Part", "Prepared", "prepare_cells", "prepare_jupyterlab", "prepare_script",
           "syntax_error"]


def prepare_jupyterlab(part: Part) -> Prepared:
    """jupyterlab-lsp's form: one `file:///x.ipynb` document whose text is the code cells
    joined by blank lines, with magics already rewritten to `get_ipython()` calls (valid
    Python) but help syntax such as `x?` left as it is. Chunks are blank-line separated."""
    physical = split_keep_ends(part.text)
    segment = Segment(part.uri, part.version, 0, len(split_lines(part.text)))
    return prepare_lines(physical, (segment,), _blank_separated(physical), cell_magics=False)


def _blank_separated(physical: list[str]) -> list[tuple[int, int]]:
    chunks: list[tuple[int, int]] = []
    start: int | None = None
    for index, line in enumerate(physical):
        if line.strip():
            if start is None:
                start = index
        elif start is not None:
            chunks.append((start, index))
            start = None
    if start is not None:
        chunks.append((start, len(physical)))
    return chunks
