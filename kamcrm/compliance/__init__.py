"""Yearly rules and targets, the compliance engine and the due list."""
