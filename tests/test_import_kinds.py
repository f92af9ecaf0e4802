"""The registry of import kinds: every kind in the order a region loads them, each built on
the bulk writer, and the names importer modules take from ``kamcrm.imports.kinds``."""

import importlib
import sys
import textwrap
from pathlib import Path

from kamcrm.imports import bulk, kinds
from kamcrm.imports.importer import KINDS


def test_the_registry_lists_every_kind_in_loading_order_each_a_bulk_importer():
    # (kinds added later come after these)
    assert KINDS[:6] == ("offices", "users", "accounts", "tiers", "activities", "complaints")
    for kind, importer in kinds.IMPORTERS.items():
        assert importer.kind == kind
        assert issubclass(importer, bulk.Importer)
        assert importer.__module__ != kinds.__name__  # kinds.py only lists them


def test_kinds_re_exports_the_bulk_names_an_importer_module_takes_from_it():
    for name in ("Importer", "Errors", "RowErrors", "insert_rows", "copy_rows"):
        assert getattr(kinds, name) is getattr(bulk, name)


def test_a_kind_module_taking_importer_from_kinds_loads_while_kinds_lists_it(tmp_path, monkeypatch):
    # The way the surveys and consumption kinds are added: kinds.py imports their module,
    # which imports Importer from kinds.py while kinds.py is still loading.
    package = tmp_path / "kindcheck"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "extra.py").write_text(
        textwrap.dedent("""
        from kindcheck.registry import Errors, Importer, RowErrors

        class ExtraImporter(Importer):
            kind = "extra"
    """)
    )
    source = Path(kinds.__file__).read_text(encoding="utf-8")
    source = source.replace(
        "from kamcrm.imports.org import OfficeImporter, UserImporter\n",
        "from kamcrm.imports.org import OfficeImporter, UserImporter\n"
        "from kindcheck.extra import ExtraImporter\n",
    )
    source += "\nIMPORTERS[ExtraImporter.kind] = ExtraImporter\n"
    (package / "registry.py").write_text(
        source.replace("kamcrm.imports.kinds", "kindcheck.registry")
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        registry = importlib.import_module("kindcheck.registry")
        assert list(registry.IMPORTERS)[-1] == "extra"
        assert issubclass(registry.IMPORTERS["extra"], bulk.Importer)
    finally:
        for name in [name for name in sys.modules if name.startswith("kindcheck")]:
            del sys.modules[name]
