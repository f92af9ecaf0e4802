"""Scheduled jobs: the one list of them, their runs, and the notifications they send."""
