"""Register the Flask CLI command groups of every domain package."""
from flask import Flask


def register_commands(app: Flask) -> None:
    """Attach the ``import``, ``report``, ``seed``, ``users``, ``periods`` and ``jobs`` groups."""
