"""The audit log read back: filters, pages of entries, and the ``flask audit`` commands."""
