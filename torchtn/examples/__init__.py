"""Runnable examples (each is a module with ``--help``)."""
