"""Command-line entry points behind ``tools/``."""
