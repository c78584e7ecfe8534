"""The engine: lint(text, config), fixes until stable, configuration, the result cache."""
