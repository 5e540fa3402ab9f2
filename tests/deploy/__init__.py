"""Checks of deploy/: the bot's own Dockerfile, compose file and Kubernetes manifests."""
