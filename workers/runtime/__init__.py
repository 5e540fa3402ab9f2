"""What every running process shares (receiver and workers alike): settings, logs, shared state,
scan activity, metrics, SQLite files, queue depth and the stored GitHub App credentials.
Never imports the core, the forges, a scan or a web framework."""
