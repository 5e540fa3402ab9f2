"""pullpolicy workers: the pure core, the .pullpolicy.yml model, forge adapters, one repository's
scan, the Celery tasks, the runtime every process shares, and the CLI. See README "Layout"."""

__version__ = "0.1.0"
