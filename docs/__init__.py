"""Generators of the committed documentation (`make docs`); not part of the distribution."""
