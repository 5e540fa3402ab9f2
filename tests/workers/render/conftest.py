"""Tests that render charts get Helm's engine as the `engine` fixture."""

from tests.render_engine import engine

__all__ = ["engine"]
