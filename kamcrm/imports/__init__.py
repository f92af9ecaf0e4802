"""Interchange files (SPEC section 7): reading CSV/XLSX, parsing row values, and the
all-or-nothing import of offices, users, accounts, tiers and activities.

Entry points: ``kamcrm.imports.importer.import_file`` (for the API and the CLI) and the
``flask import KIND FILE`` command in ``kamcrm.imports.cli``.
"""
