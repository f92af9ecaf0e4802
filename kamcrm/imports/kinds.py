"""The registry of import kinds: ``IMPORTERS``, the importer of each kind of file.

Each kind's importer lives in its own module (``kamcrm.imports.org``, ``.accounts``,
``.activities``, ``.complaints`` …) and builds on the bulk writer in ``kamcrm.imports.bulk``;
this module only lists them, in the order a new region loads them.
"""

from __future__ import annotations

from kamcrm.imports.accounts import AccountImporter, TierImporter
from kamcrm.imports.activities import ActivityImporter

# Re-exported for importer modules written against this module before the split (they
# should import from kamcrm.imports.bulk). Imported before the kinds below, so that a kind
# module importing these names from here finds them while this module is still loading.
from kamcrm.imports.bulk import Errors, Importer, RowErrors, copy_rows, insert_rows  # noqa: F401, I001
from kamcrm.imports.complaints import ComplaintImporter
from kamcrm.imports.consumption import ConsumptionImporter
from kamcrm.imports.org import OfficeImporter, UserImporter
from kamcrm.imports.surveys import SURVEY_IMPORTERS

#: The importer of each kind of file, by the KIND the command takes.
IMPORTERS: dict[str, type[Importer]] = {
    importer.kind: importer
    for importer in (
        OfficeImporter,
        UserImporter,
        AccountImporter,
        TierImporter,
        ActivityImporter,
        ComplaintImporter,
        *SURVEY_IMPORTERS,
        ConsumptionImporter,
    )
}
