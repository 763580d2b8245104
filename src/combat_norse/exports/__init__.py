"""Exports: who may take data out of the system, what they get, and the audit of it."""
