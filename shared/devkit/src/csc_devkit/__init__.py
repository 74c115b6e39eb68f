"""Developer kit for Customer Service Control: local Kafka and PostgreSQL, test fixtures."""
