"""Auditors' tools: verify the hash chains, replay a case from Kafka, print the register's forms."""
