"""Intake: where every department records what customers say (clauses 4.1, 4.2, 4.4.1)."""
