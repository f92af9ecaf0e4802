"""Who this process is, as the claims on job runs and background imports record it."""

from __future__ import annotations

import os
import socket


def claimant() -> str:
    """Return ``host:pid`` of this process (at most 100 characters, the column's width)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:100]
