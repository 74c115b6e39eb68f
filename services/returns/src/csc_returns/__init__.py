"""Returns: returned product from request to disposition (clauses 4.3.1-4.3.3)."""
