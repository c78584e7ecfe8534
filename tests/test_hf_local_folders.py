"""Local checkpoint folders (`from_pretrained("./out/checkpoint-500")`, a Trainer's
`output_dir`): read like a cached snapshot of the Hugging Face cache (`config.json` and the
weight headers, checked against the zoo's class at the layer count the keys show), never
with torch or the network. The folders are made in tmp_path from real data: a BERT
configuration and the names the shipped zoo gives that class at the layer count chosen,
written as a safetensors header."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_hf_cache import _safetensors, _saved

from freezelint.engine.lint import LintConfig, lint, lint_result
from freezelint.models.hf_cache import (
    CacheError,
    cached_manifest,
    folder_manifest,
    resolve_checkpoint,
)
from freezelint.models.manifest import TensorInfo
from freezelint.models.zoo import load_zoo

LOOP = """
for name, param in model.named_parameters():
    param.requires_grad = name == {name!r}
"""
RIGHT = "bert.encoder.layer.1.output.dense.weight"
WRONG = "bert.encoder.layers.1.output.dense.weight"
BEYOND = "bert.encoder.layer.2.output.dense.weight"  # layer 2 of a 2-layer checkpoint
CLS = "transformers/BertForSequenceClassification"


def _folder(folder: Path, layers: int = 2, labels: int = 3,
            extra: list[TensorInfo] | None = None) -> Path:
    """A checkpoint folder as the Trainer writes it: config.json, model.safetensors (only
    the header here) and the files it adds beside them."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(
        {"model_type": "bert", "architectures": ["BertForSequenceClassification"],
         "num_hidden_layers": layers,
         "id2label": {str(i): f"label{i}" for i in range(labels)}}))
    tensors = _saved(CLS, {"num_hidden_layers": layers, "num_labels": labels})
    _safetensors(folder / "model.safetensors", [*tensors, *(extra or [])])
    (folder / "trainer_state.json").write_text("{}")
    return folder


def _script(load: str, name: str, preamble: str = "") -> str:
    head = textwrap.dedent(preamble) + textwrap.dedent(f"""
    from transformers import AutoModelForSequenceClassification
    model = AutoModelForSequenceClassification.from_pretrained({load})
    """)
    return head + textwrap.dedent(LOOP.format(name=name))


def _fzl101(text: str, path: Path) -> list:
    return [d for d in lint(text, LintConfig(path=path, prefilter=True)) if d.rule == "FZL101"]


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(the linted project's folder, another working directory), cwd in the latter, and
    an empty Hugging Face cache (a path is never an id there)."""
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    return project, elsewhere


@pytest.mark.parametrize("load", ['"./out/checkpoint-500"', '"out/checkpoint-500"'])
def test_a_folder_next_to_the_linted_file_is_read_exactly(
        places: tuple[Path, Path], load: str) -> None:
    project, _ = places
    _folder(project / "out" / "checkpoint-500")
    train = project / "train.py"
    assert not _fzl101(_script(load, RIGHT), train)
    for wrong in (WRONG, BEYOND):
        found = _fzl101(_script(load, wrong), train)
        assert len(found) == 1, found
        assert f"did you mean '{RIGHT}'" in found[0].message
        assert "checkpoint-500:BertForSequenceClassification" in found[0].message


def test_the_manifest_is_the_zoo_class_with_the_checkpoint_shapes(
        places: tuple[Path, Path]) -> None:
    project, _ = places
    folder = _folder(project / "out" / "checkpoint-500")
    model_id = resolve_checkpoint("out/checkpoint-500", "AutoModelForSequenceClassification",
                                  None, base_dir=project)
    assert model_id == f"hf-cache:{folder}:BertForSequenceClassification"
    manifest = load_zoo(model_id or "")
    zoo = load_zoo(CLS, {"num_hidden_layers": 2, "num_labels": 3})
    assert manifest.parameters == zoo.parameters
    assert manifest.module_paths == zoo.module_paths
    assert not manifest.holes
    assert manifest.meta["folder"] == str(folder) and "hf_id" not in manifest.meta
    assert "(local folder)" in manifest.meta["description"]
    # Another Auto class: the body from the checkpoint, its own head unknown.
    base = load_zoo(resolve_checkpoint(str(folder), "AutoModel", None) or "")
    assert base.name == f"hf-cache:{folder}:BertModel"
    assert "encoder.layer.1.output.dense.weight" in base.parameter_names
    assert "encoder.layer.2.output.dense.weight" not in base.all_known_names()


def test_a_folder_under_the_working_directory_is_read_too(places: tuple[Path, Path]) -> None:
    project, elsewhere = places
    _folder(elsewhere / "out" / "checkpoint-500")
    train = project / "scripts" / "train.py"
    assert not _fzl101(_script('"out/checkpoint-500"', RIGHT), train)
    assert len(_fzl101(_script('"out/checkpoint-500"', WRONG), train)) == 1


def test_two_different_folders_for_one_path_are_unknown(places: tuple[Path, Path]) -> None:
    project, elsewhere = places
    _folder(project / "out")
    _folder(elsewhere / "out", layers=3)
    train = project / "train.py"
    assert not _fzl101(_script('"out"', WRONG), train)
    assert resolve_checkpoint("out", "AutoModel", None, base_dir=project) is None
    _folder(elsewhere / "out", layers=2)  # the same model in both: known
    assert len(_fzl101(_script('"out"', WRONG), train)) == 1


def test_a_folder_that_does_not_exist_is_unknown_and_a_dependency(
        places: tuple[Path, Path]) -> None:
    project, elsewhere = places
    train = project / "train.py"
    text = _script('"./out/checkpoint-500"', WRONG)
    result = lint_result(text, LintConfig(path=train, prefilter=True))
    assert "FZL101" not in [d.rule for d in result.diagnostics]
    # Its appearing later changes the result: both places are recorded for the cache.
    assert project / "out" / "checkpoint-500" in result.dependencies
    assert elsewhere / "out" / "checkpoint-500" in result.dependencies
    _folder(project / "out" / "checkpoint-500")
    result = lint_result(text, LintConfig(path=train, prefilter=True))
    assert "FZL101" in [d.rule for d in result.diagnostics]
    assert project / "out" / "checkpoint-500" / "model.safetensors" in result.dependencies


@pytest.mark.parametrize(("load", "preamble"), [
    ("args.output_dir", """
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--output_dir", default="out/checkpoint-500")
    args = parser.parse_args()
    """),
    ('os.path.join(args.output_dir, "checkpoint-500")', """
    import argparse, os
    parser = argparse.ArgumentParser()
    parser.add_argument("--output_dir", default="./out")
    args = parser.parse_args()
    """),
    ('f"{OUT}/checkpoint-500"', """
    OUT = "out"
    """),
], ids=["argparse-default", "os.path.join", "f-string"])
def test_a_path_built_from_settings(places: tuple[Path, Path], load: str,
                                    preamble: str) -> None:
    project, _ = places
    _folder(project / "out" / "checkpoint-500")
    train = project / "train.py"
    assert not _fzl101(_script(load, RIGHT, preamble), train)
    found = _fzl101(_script(load, WRONG, preamble), train)
    assert len(found) == 1 and f"did you mean '{RIGHT}'" in found[0].message, found


def test_an_absolute_path(places: tuple[Path, Path]) -> None:
    project, _ = places
    folder = _folder(project / "runs" / "best")
    assert len(_fzl101(_script(repr(str(folder)), WRONG), project / "train.py")) == 1


@pytest.mark.parametrize("odd", ["extra-key", "layer-count", "adapter", "no-weights",
                                 "no-config", "bad-json"])
def test_a_folder_the_zoo_does_not_describe_exactly_is_unknown(
        places: tuple[Path, Path], odd: str) -> None:
    project, _ = places
    folder = _folder(project / "ckpt", extra=[TensorInfo("bert.extra.weight", (2,))]
                     if odd == "extra-key" else None)
    config = json.loads((folder / "config.json").read_text())
    if odd == "layer-count":
        (folder / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 4}))
    elif odd == "adapter":  # transformers would add the adapter's LoRA layers
        (folder / "adapter_config.json").write_text(json.dumps(
            {"peft_type": "LORA", "base_model_name_or_path": "bert-base-uncased"}))
    elif odd == "no-weights":
        (folder / "model.safetensors").unlink()
    elif odd == "no-config":
        (folder / "config.json").unlink()
    elif odd == "bad-json":
        (folder / "config.json").write_text("{not json")
    assert not _fzl101(_script('"ckpt"', WRONG), project / "train.py")
    assert resolve_checkpoint("ckpt", "AutoModelForSequenceClassification", None,
                              base_dir=project) is None
    if odd in {"no-config", "bad-json"}:
        return
    reason = {"extra-key": "1 unexpected", "layer-count": "layer count",
              "adapter": "PEFT adapter", "no-weights": "only the configuration"}[odd]
    with pytest.raises(CacheError, match=reason) as error:
        folder_manifest(folder)
    assert "\n" not in str(error.value)
    # `freezelint params --model ./ckpt` says why, in one line, without a traceback.
    run = subprocess.run([sys.executable, "-m", "freezelint", "params", "--model", "./ckpt"],
                         capture_output=True, text=True, timeout=60, cwd=project,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert run.returncode != 0
    assert "Traceback" not in run.stderr and reason in run.stderr, run.stderr


def test_params_reads_a_checkpoint_folder(places: tuple[Path, Path]) -> None:
    project, _ = places
    _folder(project / "out" / "checkpoint-500")
    run = subprocess.run([sys.executable, "-m", "freezelint", "params", "--model",
                          "./out/checkpoint-500", "--flat"],
                         capture_output=True, text=True, timeout=60, cwd=project,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert run.returncode == 0, run.stderr
    assert RIGHT in run.stdout and "classifier.weight" in run.stdout
    assert BEYOND not in run.stdout


def test_a_local_folder_comes_before_a_shipped_id(places: tuple[Path, Path]) -> None:
    """transformers loads an existing directory before any Hugging Face id: a folder named
    `bert-base-uncased` (2 layers here) is what `from_pretrained` reads, not the table's
    12-layer model."""
    project, _ = places
    _folder(project / "bert-base-uncased")
    model_id = resolve_checkpoint("bert-base-uncased", "AutoModelForSequenceClassification",
                                  None, base_dir=project)
    assert model_id == f"hf-cache:{project / 'bert-base-uncased'}:BertForSequenceClassification"
    assert resolve_checkpoint("bert-base-uncased", "AutoModel", None,
                              base_dir=project / "elsewhere") == "transformers/BertModel"


def test_a_folder_written_again_is_read_again(places: tuple[Path, Path]) -> None:
    project, _ = places
    folder = _folder(project / "out")
    model_id = f"hf-cache:{folder}:BertForSequenceClassification"
    assert {p.name: p.shape for p in cached_manifest(model_id).parameters}[
        "classifier.weight"] == (3, 768)
    _folder(folder, labels=5)
    stamp = (folder / "model.safetensors").stat()
    os.utime(folder / "model.safetensors", ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 10**9))
    assert {p.name: p.shape for p in cached_manifest(model_id).parameters}[
        "classifier.weight"] == (5, 768)
