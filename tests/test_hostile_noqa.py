"""--add-noqa on a file with old Mac line ends (issue 18): a lone CR ends a line for Python
and libcst; the comments go on the right lines, the line ends stay, and nothing blames a
string or a backslash that is not there."""

from __future__ import annotations

from pathlib import Path

from helpers import invoke

LINES = ["import torchvision", "model = torchvision.models.resnet50(weights=None)",
         "model.layer1.requires_grad = False", "model.layer2.requires_grad = False", ""]


def test_add_noqa_on_lone_cr_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_bytes("\r".join(LINES).encode())
    result = invoke("check", "--no-cache", "--add-noqa", str(path))
    assert result.exit_code == 0, result.stderr
    assert "Added 2 noqa directives." in result.stderr
    assert "left without a comment" not in result.stderr
    written = path.read_bytes().decode()
    assert "\n" not in written
    assert written.split("\r")[2:4] == [f"{line}  # noqa: FZL104" for line in LINES[2:4]]
    again = invoke("check", "--no-cache", str(path))
    assert again.exit_code == 0  # the comments are read back on the right lines
