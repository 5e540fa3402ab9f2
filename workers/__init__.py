"""pullpolicy workers: the pure core, configuration, forge adapters, CLI and Celery tasks."""

__version__ = "0.1.0"
