"""Plumbing shared by the services: CloudEvents codec, store, outbox relay, consumers, replay."""
