"""Offices, users, roles, office scope, login and API tokens."""
