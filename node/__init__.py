"""Plein node: the application (Quart app, models, services, API, command line)."""

__version__ = "0.1.0"
