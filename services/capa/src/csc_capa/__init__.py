"""CAPA: investigation and corrective and preventive action (clauses 4.3.4, 4.4.3-4.4.4)."""
