"""Generators of C artifacts: golden vectors, shared constants."""
