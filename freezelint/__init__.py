"""freezelint: a model-aware linter and autofixer for PyTorch fine-tuning code."""

__version__ = "0.1.0"
