"""The result cache and worker processes change how fast, never what is reported."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from freezelint.cli.main import main

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"


def check(*args: str) -> tuple[int, list[dict]]:
    result = CliRunner().invoke(main, ["check", *args, "--output-format", "json"])
    return result.exit_code, json.loads(result.stdout or "[]")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for example in EXAMPLES.glob("*.py"):
        shutil.copy(example, tmp_path / example.name)
    return tmp_path


def test_warm_run_reports_the_same_as_a_cold_one(project: Path, tmp_path_factory):
    cache = str(tmp_path_factory.mktemp("cache"))
    cold = check(str(project), "--cache-dir", cache)
    assert any(Path(cache).rglob("*.json")), "the cold run stored nothing"
    warm = check(str(project), "--cache-dir", cache)
    assert warm == cold
    assert cold[0] == 1 and len(cold[1]) == 5


def test_an_edit_invalidates_the_entry(project: Path, tmp_path_factory):
    cache = str(tmp_path_factory.mktemp("cache"))
    script = project / "ast_head_finetune.py"
    check(str(script), "--cache-dir", cache)
    script.write_text(script.read_text().replace("'fc.weight'", "'mlp_head.1.weight'")
                      .replace("'fc.bias'", "'mlp_head.1.bias'"))
    assert check(str(script), "--cache-dir", cache) == (0, [])


def test_configuration_is_part_of_the_key(project: Path, tmp_path_factory):
    cache = str(tmp_path_factory.mktemp("cache"))
    script = str(project / "ast_head_finetune.py")
    everything = check(script, "--cache-dir", cache)[1]
    only_103 = check(script, "--cache-dir", cache, "--select", "FZL103")[1]
    assert [d["rule"] for d in only_103] == ["FZL103"]
    assert len(everything) == 3
    # Same file, another model: the cached AST result must not be reused.
    resnet = check(script, "--cache-dir", cache, "--model", "resnet50")[1]
    assert all("`resnet50`" in d["message"] or d["rule"] != "FZL101" for d in resnet)


def test_a_checkpoint_the_code_reads_invalidates_the_entry(project: Path, tmp_path_factory):
    torch = pytest.importorskip("torch")
    from freezelint.models.architectures.ast_model import ASTModel

    cache = str(tmp_path_factory.mktemp("cache"))
    script = project / "ast_checkpoint_merge.py"
    before = {d["rule"] for d in check(str(script), "--cache-dir", cache)[1]}
    assert "FZL301" not in before  # no checkpoint file yet: its keys are inferred
    model = ASTModel(label_dim=527, imagenet_pretrain=False, audioset_pretrain=False)
    torch.save(torch.nn.DataParallel(model).state_dict(),
               project / "audioset_10_10_0.4593.pth")
    after = {d["rule"] for d in check(str(script), "--cache-dir", cache)[1]}
    assert "FZL301" in after  # now read from the file's header


def test_jobs_give_the_same_report(tmp_path: Path):
    for i in range(12):
        for example in EXAMPLES.glob("*.py"):
            shutil.copy(example, tmp_path / f"{example.stem}_{i}.py")
    serial = check(str(tmp_path), "--no-cache", "--jobs", "1")
    parallel = check(str(tmp_path), "--no-cache", "--jobs", "2")
    assert parallel == serial
    assert len(serial[1]) == 12 * 5


def test_a_warm_run_imports_neither_libcst_nor_torch(project: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    command = [sys.executable, "-m", "freezelint", "check", str(project), "--cache-dir",
               str(cache), "--output-format", "concise"]
    subprocess.run(command, capture_output=True, check=False)
    probe = (
        "import sys, runpy\n"
        f"sys.argv = {['freezelint', *command[3:]]!r}\n"
        "try:\n"
        "    runpy.run_module('freezelint', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('libcst' in sys.modules, 'torch' in sys.modules, file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=False)
    assert out.stderr.strip().splitlines()[-1] == "False False", out.stderr
    assert "FZL101" in out.stdout


def test_shards_are_disjoint_and_concatenate_to_the_whole(tmp_path: Path):
    for i in range(5):
        for example in EXAMPLES.glob("*.py"):
            shutil.copy(example, tmp_path / f"{example.stem}_{i}.py")
    whole = check(str(tmp_path), "--no-cache")[1]
    parts = [check(str(tmp_path), "--no-cache", "--shard", f"{i}/3")[1] for i in (1, 2, 3)]
    merged = sorted((d for part in parts for d in part),
                    key=lambda d: (d["path"], d["range"]["start"]["line"], d["rule"]))
    assert merged == sorted(whole, key=lambda d: (d["path"], d["range"]["start"]["line"],
                                                  d["rule"]))
    paths = [{d["path"] for d in part} for part in parts]
    assert not (paths[0] & paths[1] or paths[1] & paths[2] or paths[0] & paths[2])


def test_bad_shard_is_a_usage_error(tmp_path: Path):
    result = CliRunner().invoke(main, ["check", str(tmp_path), "--shard", "4/3"])
    assert result.exit_code == 2
    assert "I/N" in result.output
