"""Batch evaluation: `citeqa eval`."""
