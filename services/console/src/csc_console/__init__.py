"""Console: the web pages where each department runs the procedure."""
