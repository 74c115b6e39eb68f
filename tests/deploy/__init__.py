"""Checks of what ships: images, Kubernetes manifests and the event catalog."""
