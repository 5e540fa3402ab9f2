"""What people and probes see: /setup (the GitHub App manifest flow), /status, health checks,
and the one HTML layout they share. Never in the path of a webhook delivery."""
