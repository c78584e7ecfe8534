"""The command line front end: commands, many-file runs, output formats, trees."""
