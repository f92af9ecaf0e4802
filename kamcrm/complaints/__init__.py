"""Complaints and their time limits (SPEC section 8, CR2 plan 2)."""
