"""Model resolution: specs (zoo names, checkpoints, manifest files, user models) -> Manifest.

This layer knows nothing about libcst; torch is imported only where a model must be built."""

from freezelint.models.manifest import Manifest, ManifestError, ModuleInfo, TensorInfo

__all__ = ["Manifest", "ManifestError", "ModuleInfo", "TensorInfo"]
