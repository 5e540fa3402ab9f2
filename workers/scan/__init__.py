"""One repository's scan: run it, keep its pull request, cache its reports, read local trees.
Synchronous and queue-agnostic: it sees forges only through `workers.forge.base`, never Celery."""
