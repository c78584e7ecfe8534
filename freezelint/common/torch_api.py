"""What freezelint knows about the torch API, in one table.

Every layer reads these names from here: the model layer (checkpoint files and their key
prefixes), the analysis (which calls build optimizers, which module methods freeze, unfreeze
or only read), the rules (wrapper prefixes in a name) and the editor (hover). Data only:
no torch import, no libcst, nothing that runs.
"""

from __future__ import annotations

# -- files ---------------------------------------------------------------------------------
# File suffixes that hold a state dict (torch.save, safetensors, Lightning, HF .bin).
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".safetensors")
# Calls that return a checkpoint's state dict.
CHECKPOINT_LOADERS = frozenset({
    "torch.load", "safetensors.torch.load_file", "torch.hub.load_state_dict_from_url",
    "torch.utils.model_zoo.load_url",
})
CHECKPOINT_SAVE = "torch.save"

# -- wrappers and the prefixes they add to every name ----------------------------------------
# Constructors that wrap a model and what they put in front of every name in memory.
WRAPPER_CONSTRUCTORS = {
    "torch.nn.DataParallel": "module.",
    "torch.nn.parallel.DataParallel": "module.",
    "torch.nn.parallel.DistributedDataParallel": "module.",
    "torch.nn.parallel.data_parallel.DataParallel": "module.",
    "torch.distributed.fsdp.FullyShardedDataParallel": "_fsdp_wrapped_module.",
    "torch.compile": "_orig_mod.",
}
# Wrappers that register gradient hooks when built: requires_grad changes after them break.
GRAD_HOOK_WRAPPERS = frozenset({"DistributedDataParallel", "FullyShardedDataParallel"})
# The prefixes the wrapper constructors above add in memory, in the order they are tried.
MEMORY_WRAPPER_PREFIXES = ("module.", "_orig_mod.", "_fsdp_wrapped_module.")
# Prefixes that wrappers leave in front of every key of a saved checkpoint: DataParallel/DDP,
# torch.compile, Lightning, and backbone/encoder holders. Order matters only for documentation.
CHECKPOINT_PREFIXES = ("module.", "_orig_mod.", "model.", "backbone.", "encoder.")
# The same, with the stacked combinations seen in the wild (a compiled DDP model...).
STACKED_PREFIXES = (*CHECKPOINT_PREFIXES, "module._orig_mod.", "_orig_mod.module.",
                    "model.module.")
# The prefixes a hover strips to show a wrapped name's real parameter.
HOVER_PREFIXES = ("module.", "_orig_mod.", "model.")

# -- optimizers ----------------------------------------------------------------------------
# Optimizer classes (torch.optim, transformers, bitsandbytes, apex, timm, lion-pytorch).
OPTIMIZER_NAMES = frozenset({
    "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam",
    "LBFGS", "SparseAdam", "ASGD", "Rprop", "Adafactor", "Lion", "LAMB", "Lamb", "Adam8bit",
    "AdamW8bit", "PagedAdamW", "PagedAdamW8bit", "FusedAdam", "FusedLAMB",
})
# torch.optim's own classes: a call to one of them consumes a parameter iterator.
TORCH_OPTIMIZER_NAMES = frozenset({
    "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam",
    "LBFGS",
})
GRAD_CLIPPERS = frozenset({
    "torch.nn.utils.clip_grad_norm_", "torch.nn.utils.clip_grad_value_",
    "torch.nn.utils.clip_grad.clip_grad_norm_",
})

# -- nn.Module methods and attributes ------------------------------------------------------
# Methods of every nn.Module.
MODULE_METHODS = frozenset({
    "parameters", "named_parameters", "modules", "named_modules", "children", "named_children",
    "requires_grad_", "train", "eval", "apply", "to", "cuda", "cpu", "float", "half",
    "double", "bfloat16", "state_dict", "load_state_dict", "zero_grad", "buffers",
    "named_buffers", "type",
})
# The ones only a module has: an unknown receiver using one of them is a model. A tensor has
# `to`, `cuda`, `float`, `half`, `type` (and a batch from a DataLoader is `.to(device)` as
# often as a model is).
MODEL_ONLY_METHODS = MODULE_METHODS - {"to", "cuda", "cpu", "float", "half", "double",
                                       "bfloat16", "type", "apply", "zero_grad"}
# Methods that iterate over parameters, buffers or modules (lazily, for the generators).
ITERATOR_METHODS = frozenset({
    "parameters", "named_parameters", "modules", "named_modules", "children", "named_children",
    "buffers", "named_buffers",
})
# Methods that return the module itself and change neither names nor requires_grad.
CONVERSION_METHODS = frozenset({
    "to", "cuda", "cpu", "float", "half", "double", "bfloat16", "type",
})
# Module methods that do not change requires_grad (the others, when the analysis does not
# model them, leave the module's parameters unknown).
READ_ONLY_MODULE_METHODS = frozenset({
    "forward", "extra_repr", "num_parameters", "get_parameter", "get_submodule",
    "get_input_embeddings", "get_output_embeddings", "register_forward_hook",
    "register_forward_pre_hook", "register_full_backward_hook", "register_buffer",
    "zero_grad", "print_trainable_parameters", "gradient_checkpointing_enable",
    "gradient_checkpointing_disable", "save_pretrained", "push_to_hub", "generate",
    "share_memory", "named_buffers", "buffers", "half", "float",
})
# Methods that change which submodules or parameters a module has, in ways the analysis does
# not follow one by one: what lies under the module becomes unknown (`add_module` and
# `register_module` with a module built in the script are applied exactly).
STRUCTURAL_MODULE_METHODS = frozenset({
    "add_module", "register_module", "register_parameter", "append", "extend", "insert",
    "update", "pop", "popitem", "clear", "__setitem__", "__delitem__", "setdefault",
})
# Unresolved calls that take a model without changing what trains: the model keeps its
# known state. Any other unresolved call may freeze or unfreeze what it is given.
READ_ONLY_CALLS = frozenset({
    "debug", "info", "warning", "warn", "error", "critical", "exception", "log", "watch",
    "summary", "deepcopy", "copy", "count_parameters", "print_trainable_parameters",
    # Library helpers that only read a model (issue 13: they made every parameter unknown).
    "resolve_data_config", "resolve_model_data_config",  # timm.data
    "get_parameter_names", "get_model_param_count",  # transformers.trainer_pt_utils
    "get_parameter_dtype", "get_parameter_device",  # transformers.modeling_utils
    "save_model", "save_file",  # safetensors.torch: writes the weights, changes nothing
})
# Attribute uses that only make sense on a module: on a missing submodule they are FZL109.
# (`model.config.hidden_size` on a model whose manifest has no `config` module is fine.)
MODULE_LIKE_USES = frozenset({
    "parameters", "named_parameters", "modules", "named_modules", "children", "named_children",
    "requires_grad_", "requires_grad", "train", "eval", "weight", "bias", "in_features",
    "out_features", "in_channels", "out_channels", "state_dict", "load_state_dict",
})
# Size attributes recorded at construction: assigning them resizes nothing (FZL111).
SIZE_ATTRS = frozenset({"out_features", "in_features", "out_channels", "in_channels",
                        "num_features"})
# transformers' `model.base_model`: the backbone child of a task model, tried in this order.
BASE_MODEL_CHILDREN = ("bert", "vit", "audio_spectrogram_transformer", "roberta", "deberta",
                       "distilbert", "model", "base_model")
