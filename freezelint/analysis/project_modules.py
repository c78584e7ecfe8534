"""Which imports may name the project's own modules, decided from the dotted name alone.

The script interpreter asks for every import, so the answer must cost no file lookup: the
standard library and the libraries model code imports are never the project's; anything
else (a relative import, `models`, `src.nets`) may be, and is looked up in the project's
folders only where that matters (analysis/classes/project.py).
"""

from __future__ import annotations

import sys

# Never a project's own module: the standard library and the libraries model code imports
# (no file lookup for them, on every lint).
_LIBRARIES = frozenset({"torch", "torchvision", "torchaudio", "timm", "transformers", "peft",
                        "numpy", "np", "lightning", "pytorch_lightning", "accelerate",
                        "datasets", "einops", "scipy", "sklearn", "pandas", "PIL", "tqdm",
                        "wandb", "matplotlib", "omegaconf", "hydra", "safetensors",
                        "tensorboard", "huggingface_hub", "tokenizers", "deepspeed", "yaml",
                        "requests", "cv2", "jax", "tensorflow", "__future__"})


def maybe_project(dotted: str) -> bool:
    top = dotted.split(".")[0]
    return not top or (top not in _LIBRARIES and top not in sys.stdlib_module_names)
