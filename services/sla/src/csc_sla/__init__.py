"""SLA: the promises of the procedure, watched by durable clocks (clauses 4.2, 4.5, 4.6)."""
