"""Uploading an interchange file: the same all-or-nothing import as ``flask import``.

A file with any bad row changes nothing; the answer is a 422 whose ``errors`` name each bad
row as ``line.<N>.<field>`` (the header is line 1, as a spreadsheet shows it).
"""
from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload

from kamcrm import limits
from kamcrm.api.blueprint import Blueprint, caller, may_answer
from kamcrm.api.fields import Text
from kamcrm.errors import ValidationFailed
from kamcrm.extensions import db
from kamcrm.imports.importer import KINDS, import_file
from kamcrm.org.access import requires

PATH = "/imports"
blp = Blueprint("imports", __name__, description="Importing CSV or XLSX files (SPEC section 7).")


class UploadSchema(ma.Schema):
    file = Upload(
        required=True, metadata={"description": "A .csv (UTF-8, BOM accepted) or .xlsx file."}
    )


class ImportArgs(ma.Schema):
    reason = Text(
        validate=ma.validate.Length(max=limits.REASON),
        metadata={"description": "Why activities of a closed quarter are changed (staff only)."},
    )


class ImportResultSchema(ma.Schema):
    """What an import wrote."""

    kind = ma.fields.String(required=True)
    filename = ma.fields.String(required=True)
    sha256 = ma.fields.String(required=True, allow_none=True)
    ok = ma.fields.Boolean(required=True)
    rows = ma.fields.Integer(required=True)
    created = ma.fields.Integer(required=True)
    updated = ma.fields.Integer(required=True)
    unchanged = ma.fields.Integer(required=True)


@blp.route(f"/<any({', '.join(KINDS)}):kind>", methods=["POST"])
@requires("imports.run")
@blp.arguments(ImportArgs, location="query")
@blp.arguments(UploadSchema, location="files")
@blp.response(201, ImportResultSchema)
@may_answer(404, 413)
def run_import(args, files, kind):
    """Import a file of ``kind`` (regional staff): all rows, or none.

    The errors of a refused file are keyed ``line.<N>.<field>``, e.g. ``line.7.activity_date``.
    """
    upload = files["file"]
    result = import_file(
        kind, upload.stream, upload.filename or "", actor=caller(), reason=args.get("reason")
    )
    if not result.ok:
        db.session.rollback()
        errors: dict[str, list[str]] = {}
        for error in result.errors:
            errors.setdefault(f"line.{error.line}.{error.field}", []).append(error.message)
        lines = len({error.line for error in result.errors})
        raise ValidationFailed(
            errors, message=f"Nothing was imported: {lines} line(s) of the file are not valid."
        )
    db.session.commit()
    return result.as_dict()
