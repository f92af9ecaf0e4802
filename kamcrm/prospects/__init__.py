"""Prospect lists from consumption data and the business visits they lead to (SPEC section 10)."""
