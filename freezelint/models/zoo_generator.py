"""Rebuild the shipped zoo (`freezelint/models/zoo/*.json` and `index.json`) from the real
libraries, on the meta device (no weights, no downloads).

    python -m freezelint.models.zoo_generator [--out DIR] [--other-names FILE]
    python -m freezelint.models.zoo_generator --dump-names FILE

Linting reads the JSON and never imports torch; only this script does. It imports torch,
torchvision, timm and transformers lazily and skips a library that is not installed (with a
message), keeping that library's files already in the output folder.

transformers 5.x renamed AST/ViT internals in memory (`layers.{i}.attention.q_proj`) while
checkpoints written by `save_pretrained` keep the 4.x names, so a script may use either set.
The zoo keys each transformers manifest on the major version it was built with
(`meta.transformers_major`) and stores the other major's parameter names in `aliases`
when they differ. One environment holds one transformers, hence two steps:

    # in an environment with transformers 4.x
    python -m freezelint.models.zoo_generator --dump-names /tmp/names-4.json
    # in an environment with transformers 5.x (the shipped names)
    python -m freezelint.models.zoo_generator --other-names /tmp/names-4.json

Without --other-names, the other major's names already recorded in the output folder's files
are kept, so a later regeneration needs only the 5.x environment.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from freezelint.models.ast_arch import ast_manifest
from freezelint.models.manifest import Manifest

ZOO_DIR = Path(__file__).parent / "zoo"
INDEX_NAME = "index.json"


@dataclass(frozen=True)
class ZooSpec:
    """One zoo model: how to build it and what the index says about it.

    `head` is the classifier module a user replaces when fine-tuning (None for a bare
    encoder); `class_heads` are the modules whose output size follows `class_kwarg`
    (`num_classes` for torchvision/timm, `num_labels` for transformers), so that
    `load_zoo(id, {"num_classes": 10})` can resize them without torch."""

    id: str
    library: str
    description: str
    constructor: str
    build: Callable[[Any], Any]
    head: str | None
    class_heads: tuple[str, ...] = ()
    class_kwarg: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def file(self) -> str:
        return self.id.replace("/", "--") + ".json"


def _torchvision(name: str, head: str, description: str) -> ZooSpec:
    def build(tv: Any) -> Any:
        return getattr(tv.models, name)(weights=None)

    return ZooSpec(id=name, library="torchvision", description=description,
                   constructor=f"torchvision.models.{name}(weights=None)", build=build,
                   head=head, class_heads=(head,), class_kwarg="num_classes",
                   aliases=(f"torchvision/{name}",))


def _timm(name: str, heads: tuple[str, ...], description: str) -> ZooSpec:
    def build(timm: Any) -> Any:
        return timm.create_model(name, pretrained=False)

    return ZooSpec(id=f"timm/{name}", library="timm", description=description,
                   constructor=f"timm.create_model({name!r}, pretrained=False)", build=build,
                   head=heads[0], class_heads=heads, class_kwarg="num_classes")


def _transformers(cls: str, config: str, head: str | None, description: str,
                  aliases: tuple[str, ...] = ()) -> ZooSpec:
    def build(transformers: Any) -> Any:
        return getattr(transformers, cls)(getattr(transformers, config)())

    return ZooSpec(id=f"transformers/{cls}", library="transformers", description=description,
                   constructor=f"transformers.{cls}({config}())", build=build, head=head,
                   class_heads=(head,) if head else (), class_kwarg="num_labels" if head else None,
                   aliases=aliases)


SPECS: tuple[ZooSpec, ...] = (
    _torchvision("resnet18", "fc", "torchvision ResNet-18 (ImageNet, 1000 classes)"),
    _torchvision("resnet34", "fc", "torchvision ResNet-34 (ImageNet, 1000 classes)"),
    _torchvision("resnet50", "fc", "torchvision ResNet-50 (ImageNet, 1000 classes)"),
    _torchvision("resnet101", "fc", "torchvision ResNet-101 (ImageNet, 1000 classes)"),
    _torchvision("vgg16", "classifier.6", "torchvision VGG-16 (ImageNet, 1000 classes)"),
    _torchvision("densenet121", "classifier", "torchvision DenseNet-121 (ImageNet, 1000 classes)"),
    _torchvision("efficientnet_b0", "classifier.1",
                 "torchvision EfficientNet-B0 (ImageNet, 1000 classes)"),
    _torchvision("mobilenet_v2", "classifier.1",
                 "torchvision MobileNetV2 (ImageNet, 1000 classes)"),
    _torchvision("mobilenet_v3_large", "classifier.3",
                 "torchvision MobileNetV3-Large (ImageNet, 1000 classes)"),
    _torchvision("vit_b_16", "heads.head", "torchvision ViT-B/16 (ImageNet, 1000 classes)"),
    _timm("vit_base_patch16_224", ("head",), "timm ViT-Base/16 at 224 (1000 classes)"),
    _timm("deit_base_distilled_patch16_384", ("head", "head_dist"),
          "timm distilled DeiT-Base/16 at 384 (1000 classes; head and head_dist)"),
    _timm("resnet50", ("fc",), "timm ResNet-50 (1000 classes)"),
    _transformers("BertModel", "BertConfig", None,
                  "transformers BertModel with BertConfig() defaults (bert-base-uncased)",
                  aliases=("bert-base-uncased",)),
    _transformers("BertForSequenceClassification", "BertConfig", "classifier",
                  "transformers BertForSequenceClassification, BertConfig() defaults "
                  "(bert-base-uncased, 2 labels)"),
    _transformers("ViTForImageClassification", "ViTConfig", "classifier",
                  "transformers ViTForImageClassification, ViTConfig() defaults (2 labels)"),
    _transformers("ASTForAudioClassification", "ASTConfig", "classifier.dense",
                  "transformers ASTForAudioClassification, ASTConfig() defaults (2 labels)"),
)

AST_DESCRIPTION = ("Audio Spectrogram Transformer, AST paper reference code ASTModel "
                   "(base384 defaults; accepts ASTModel keyword arguments)")


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _import(name: str) -> Any | None:
    try:
        return importlib.import_module(name)
    except ImportError as error:
        print(f"zoo: skipping {name} models: cannot import {name} ({error})", file=sys.stderr)
        return None


def build_manifest(spec: ZooSpec, library: Any) -> Manifest:
    """Build one model on the meta device and read its manifest."""
    import torch

    from freezelint.models.introspect import manifest_from_module

    with torch.device("meta"):
        module = spec.build(library)
    versions = {"torch": _version("torch"), spec.library: _version(spec.library)}
    meta: dict[str, Any] = {"library": spec.library, "constructor": spec.constructor,
                            "description": spec.description, "versions": versions}
    if spec.library == "transformers":
        meta["transformers_major"] = int(str(versions["transformers"]).split(".")[0])
    manifest = manifest_from_module(module, name=spec.id, source="zoo", meta=meta)
    _check_heads(spec, manifest)
    return manifest


def _check_heads(spec: ZooSpec, manifest: Manifest) -> None:
    """Fail loudly if a library moved a head: the index and `num_classes` rely on them."""
    for path in spec.class_heads:
        info = manifest.module(path)
        if info is None or info.type != "Linear":
            raise RuntimeError(f"{spec.id}: expected a Linear head at {path!r}, found {info}")


def dump_names(path: Path) -> None:
    """Write the installed transformers' parameter names for the transformers specs."""
    transformers = _import("transformers")
    if transformers is None:
        raise SystemExit("zoo: --dump-names needs transformers installed")
    models = {spec.id: build_manifest(spec, transformers).parameter_names
              for spec in SPECS if spec.library == "transformers"}
    doc = {"transformers_version": _version("transformers"), "models": models}
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"zoo: wrote {len(models)} name lists for transformers "
          f"{doc['transformers_version']} to {path}")


def _names_from_existing(target: Path, manifest: Manifest) -> dict[str, Any] | None:
    """The other major's names recorded in a previously generated file, if any.

    Lets a maintainer regenerate the zoo from a single transformers 5.x environment without
    losing the 4.x names, which only a 4.x install can produce."""
    if not target.exists():
        return None
    old = Manifest.load(target)
    version = old.meta.get("alias_versions", {}).get("transformers")
    major = str(manifest.meta["transformers_major"])
    if version is None or str(version).split(".")[0] == major:
        return None
    if old.meta.get("transformers_major") != manifest.meta["transformers_major"]:
        return None
    names = list(old.aliases[0]) if old.aliases else old.parameter_names
    return {"transformers_version": version, "models": {manifest.name: names}}


def _with_other_names(manifest: Manifest, other: dict[str, Any] | None) -> Manifest:
    """Attach the other transformers major's names as an alias set when they differ."""
    if other is None:
        print(f"zoo: warning: {manifest.name} written without the other transformers "
              f"major's names (pass --other-names)", file=sys.stderr)
        return manifest
    names = other["models"].get(manifest.name)
    if names is None:
        raise SystemExit(f"zoo: --other-names file has no names for {manifest.name}")
    other_version = str(other["transformers_version"])
    if other_version.split(".")[0] == str(manifest.meta["transformers_major"]):
        raise SystemExit("zoo: --other-names was written by the same transformers major")
    meta = {**manifest.meta, "alias_versions": {"transformers": other_version},
            "aliases_differ": names != manifest.parameter_names}
    aliases = (tuple(names),) if names != manifest.parameter_names else ()
    return Manifest(name=manifest.name, parameters=manifest.parameters,
                    buffers=manifest.buffers, modules=manifest.modules, source=manifest.source,
                    meta=meta, aliases=aliases)


def dumps_compact(manifest: Manifest) -> str:
    """JSON with one tensor, module or alias name per line: small, and diffs read well."""
    doc = manifest.to_json()
    lines = ["{"]
    keys = list(doc)
    for i, key in enumerate(keys):
        value = doc[key]
        comma = "," if i < len(keys) - 1 else ""
        if key in {"parameters", "buffers", "modules"} and value:
            items = [json.dumps(item) for item in value]
            lines.append(f" {json.dumps(key)}: [")
            lines.extend(f"  {item}," for item in items[:-1])
            lines.append(f"  {items[-1]}")
            lines.append(f" ]{comma}")
        elif key == "aliases":
            lines.append(f" {json.dumps(key)}: [")
            for j, alias in enumerate(value):
                lines.append("  [")
                names = [json.dumps(n) for n in alias]
                lines.extend(f"   {n}," for n in names[:-1])
                lines.append(f"   {names[-1]}")
                lines.append("  ]" + ("," if j < len(value) - 1 else ""))
            lines.append(f" ]{comma}")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _index_entry(file: str, aliases: tuple[str, ...], description: str, library: str,
                 head: str | None, manifest: Manifest, class_heads: tuple[str, ...],
                 class_kwarg: str | None) -> dict[str, Any]:
    return {"file": file, "aliases": list(aliases), "description": description,
            "library": library, "head": head, "parameters": len(manifest.parameters),
            "numel": manifest.total_numel, "class_heads": list(class_heads),
            "class_kwarg": class_kwarg}


def generate(out: Path, other_names: dict[str, Any] | None) -> dict[str, Any]:
    """Write every buildable model and index.json into `out`; return the index."""
    out.mkdir(parents=True, exist_ok=True)
    index: dict[str, Any] = {}

    ast = ast_manifest()
    (out / "ast.json").write_text(dumps_compact(ast), encoding="utf-8")
    index["ast"] = _index_entry("ast.json", (), AST_DESCRIPTION, "freezelint", "mlp_head.1",
                                ast, ("mlp_head.1",), "label_dim")
    print(f"zoo: ast: {len(ast.parameters)} parameters")

    torch = _import("torch")
    libraries: dict[str, Any | None] = {}
    for spec in SPECS:
        if spec.library not in libraries:
            libraries[spec.library] = _import(spec.library) if torch is not None else None
        library = libraries[spec.library]
        target = out / spec.file
        if library is not None:
            manifest = build_manifest(spec, library)
            if spec.library == "transformers":
                other = other_names or _names_from_existing(target, manifest)
                manifest = _with_other_names(manifest, other)
            target.write_text(dumps_compact(manifest), encoding="utf-8")
            print(f"zoo: {spec.id}: {len(manifest.parameters)} parameters, "
                  f"{len(manifest.buffers)} buffers")
        elif target.exists():
            manifest = Manifest.load(target)
            print(f"zoo: {spec.id}: kept the existing {target.name}", file=sys.stderr)
        else:
            print(f"zoo: {spec.id}: not written ({spec.library} missing)", file=sys.stderr)
            continue
        index[spec.id] = _index_entry(spec.file, spec.aliases, spec.description,
                                      spec.library, spec.head, manifest, spec.class_heads,
                                      spec.class_kwarg)

    (out / INDEX_NAME).write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")
    print(f"zoo: wrote {len(index)} models to {out}")
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m freezelint.models.zoo_generator",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ZOO_DIR,
                        help="output folder (default: the package's zoo folder)")
    parser.add_argument("--other-names", type=Path,
                        help="names file from --dump-names under the other transformers major")
    parser.add_argument("--dump-names", type=Path,
                        help="only write the installed transformers' parameter names here")
    args = parser.parse_args(argv)
    if args.dump_names:
        dump_names(args.dump_names)
        return 0
    other = None
    if args.other_names:
        other = json.loads(args.other_names.read_text(encoding="utf-8"))
    generate(args.out, other)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
