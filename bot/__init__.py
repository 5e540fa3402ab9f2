"""The webhook receiver (FastAPI): `webhooks/` is the delivery path, `pages/` what people and
probes see; `main.py` assembles both. Imports from workers/ only jobs and runtime."""
