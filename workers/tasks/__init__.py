"""The Celery app (built from settings, nothing at import time) and its thin tasks: decode a job,
take the repository's lock, call `workers.scan`, decide retries. No scan logic lives here."""
