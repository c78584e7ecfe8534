"""Input: reading sources, notebooks as lintable text, text edits, safe write-back."""
