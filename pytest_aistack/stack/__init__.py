"""Bring a stack up and down: spec, health, local/docker/external backends."""
