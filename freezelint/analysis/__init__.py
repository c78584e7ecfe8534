"""From source text to facts: parse once, interpret in program order over real names."""
