"""Torch implementations of architectures that no installable library provides.

Importing this package imports torch: only the zoo generator, tests and users who want a
runnable model touch it. Linting reads the pure-Python manifests instead
(`freezelint.models.ast_arch`).
"""

from freezelint.models.architectures.ast_model import ASTModel

__all__ = ["ASTModel"]
