"""Notify: every notification of the procedure, by e-mail and chat."""
