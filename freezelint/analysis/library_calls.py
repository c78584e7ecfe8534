"""Calls of library functions and classes known by their qualified name.

`torch.optim.AdamW(...)`, `torch.nn.DataParallel(model)`, `torch.load(path)`,
`nn.Linear(768, 10)`, `ASTModel(...)`: each qualified name is handed to the module that
knows what it does. A call the table does not know may change what it is given, so the
models reachable from its arguments become unknown (unless it only reads them).
"""

from __future__ import annotations

import os.path
from typing import TYPE_CHECKING, Any

import libcst as cst

from freezelint.analysis import (
    lightning,
    modules,
    optimizers,
    peft_configs,
    recording,
    state_dicts,
    trainable,
    trainers,
)
from freezelint.analysis.detect import detect_constructor, library_value
from freezelint.analysis.nn_modules import NewModule, build_nn_module
from freezelint.analysis.values import UNKNOWN, ModuleObj, Qualified
from freezelint.common import torch_api as api
from freezelint.models import nn_table

if TYPE_CHECKING:
    from freezelint.analysis.evaluator import Evaluator

_REGEX_FUNCTIONS = frozenset({"re.match", "re.search", "re.fullmatch"})


def call(it: Evaluator, name: str, args: list[Any], kwargs: dict[str, Any],
         node: cst.Call) -> Any:
    last = name.rpartition(".")[2]
    if last in api.OPTIMIZER_NAMES and ("optim" in name or name == last or "." in name):
        return optimizers.build(it, args, kwargs, node, last)
    if peft_configs.handles(name):
        result = peft_configs.call(it, name, args, kwargs, node)
        if result is UNKNOWN:  # the model PEFT wrapped: its names are no longer known
            trainable.escape([a for a in [*args, *kwargs.values()]  # PEFT reads its config
                              if not isinstance(a, peft_configs.PeftConfig)])
        return result
    if name in trainers.HF_TRAINERS:
        return trainers.call(it, name, args, kwargs, node)
    if lightning.is_trainer(name):
        return lightning.trainer(it, args, kwargs, node)
    if lightning.is_backbone_finetuning(name):
        return lightning.callback(it, args, kwargs, node)
    if trainers.is_finetuning_helper(name):
        return trainers.finetuning_helper(it, name, args, kwargs, node)
    if name in api.GRAD_CLIPPERS:
        if args:
            modules.consume(it, args[0], node)
        return UNKNOWN
    if name in api.WRAPPER_CONSTRUCTORS and args and isinstance(args[0], NewModule):
        args = [modules.adopt_new(it, args[0], node), *args[1:]]
    if name in api.WRAPPER_CONSTRUCTORS and args and isinstance(args[0], ModuleObj):
        return modules.wrap(name, args[0], node)
    if name in api.CHECKPOINT_LOADERS:
        return state_dicts.load(it, args, kwargs, node)
    if last == "get_state_dict" and "_Weights." in name:  # a torchvision weight enum member
        return state_dicts.public_weights(it, Qualified(name.rpartition(".")[0]), node)
    if name == api.CHECKPOINT_SAVE:
        state_dicts.save(it, args, kwargs)
        return None
    if name in _REGEX_FUNCTIONS and len(args) >= 2:
        return recording.regex(it, name, args[0], args[1])
    built = build_nn_module(name, args, kwargs)
    if built is not None:
        return built
    if name == "os.path.join" and args and not kwargs and all(isinstance(a, str) for a in args):
        return os.path.join(*args)  # a path of known parts (a checkpoint folder, a file)
    request = detect_constructor(name, args, kwargs, base_dir=it.base_dir,
                                 reads=it.facts.files_read)
    if request is not None:
        return modules.construct(it, request, node)
    value = library_value(name, args, kwargs)  # argparse.ArgumentParser(), AutoConfig...
    if value is not None:
        return value
    if last not in api.READ_ONLY_CALLS and not name.startswith("logging."):
        trainable.escape([*args, *kwargs.values()])
    if name in api.WRAPPER_CONSTRUCTORS or (
            name.startswith("torch.nn.") and nn_table.known_class(last)):
        it.module_calls.add(node)  # a module all the same, of unknown names
    return UNKNOWN
