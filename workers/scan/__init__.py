"""One repository's scan: run it, keep its pull request, review people's pull requests, cache
its reports, read local trees.
Synchronous and queue-agnostic: it sees forges only through `workers.forge.base`, never Celery."""
