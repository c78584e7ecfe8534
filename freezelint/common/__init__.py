"""Shared vocabulary: diagnostics, rule documentation, wording, atomic file writes."""
