"""Uploading an interchange file: the same all-or-nothing import as ``flask import``.

A file with any bad row changes nothing; the answer is a 422 whose ``errors`` name each bad
row as ``line.<N>.<field>`` (the header is line 1, as a spreadsheet shows it): the first
1,000 problems, and ``more_errors`` counts the rest. A file larger than
``IMPORT_BACKGROUND_BYTES`` is not imported inside the request: it is queued, the answer is
202 with a ``Location`` to poll (``GET /imports/<id>``), and the scheduler process imports it.
A file larger than ``IMPORT_MAX_BYTES`` answers 413.
"""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, jsonify, url_for
from flask_smorest.fields import Upload

from kamcrm import limits
from kamcrm.api.blueprint import Blueprint, caller, may_answer
from kamcrm.api.fields import Text
from kamcrm.api.schemas import ErrorSchema
from kamcrm.errors import ValidationFailed
from kamcrm.extensions import db
from kamcrm.imports.importer import KINDS, import_file, stream_size
from kamcrm.imports.operations import import_run_for, progress_of, queue_import
from kamcrm.imports.runner import start_after_this_request
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


class ImportRefusedSchema(ErrorSchema):
    """A refused file: the error body, with the first 1,000 problems and how many more."""

    more_errors = ma.fields.Integer(
        metadata={"description": "How many problems there were beyond `errors` (a refused file's)."}
    )


class ImportErrorSchema(ma.Schema):
    """One problem of a refused file."""

    line = ma.fields.Integer(required=True)
    field = ma.fields.String(required=True)
    message = ma.fields.String(required=True)


class ImportResultSchema(ma.Schema):
    """What an import wrote (or, refused, its first problems)."""

    kind = ma.fields.String(required=True)
    filename = ma.fields.String(required=True)
    sha256 = ma.fields.String(required=True, allow_none=True)
    ok = ma.fields.Boolean(required=True)
    rows = ma.fields.Integer(required=True)
    created = ma.fields.Integer(required=True)
    updated = ma.fields.Integer(required=True)
    unchanged = ma.fields.Integer(required=True)
    errors = ma.fields.List(
        ma.fields.Nested(ImportErrorSchema),
        metadata={
            "description": "The first 1,000 problems of a refused file (a background run's only)."
        },
    )
    more_errors = ma.fields.Integer(
        metadata={"description": "How many problems there were beyond `errors`."}
    )


class RunErrorSchema(ma.Schema):
    """Why a background import stopped before checking its rows (a right, a conflict …)."""

    code = ma.fields.Integer(required=True)
    message = ma.fields.String(required=True)


class ImportRunSchema(ma.Schema):
    """A background import: where it stands and, once ended, what it did."""

    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True)
    filename = ma.fields.String(required=True)
    status = ma.fields.String(
        required=True, metadata={"enum": ["queued", "running", "done", "failed"]}
    )
    bytes = ma.fields.Integer(required=True)
    rows_done = ma.fields.Integer(required=True)
    rows_total = ma.fields.Integer(
        required=True, allow_none=True, metadata={"description": "Estimated until the run ends."}
    )
    percent = ma.fields.Float(required=True, allow_none=True)
    created_at = ma.fields.DateTime(required=True)
    started_at = ma.fields.DateTime(required=True, allow_none=True)
    finished_at = ma.fields.DateTime(required=True, allow_none=True)
    result = ma.fields.Nested(ImportResultSchema, required=True, allow_none=True)
    error = ma.fields.Nested(RunErrorSchema, required=True, allow_none=True)


def run_status(run) -> dict:
    """Return a background import as the API shows it."""
    progress = progress_of(run)
    outcome = run.result or {}
    error = outcome.get("error")
    return {
        "id": run.id,
        "kind": run.kind,
        "filename": run.filename,
        "status": run.status,
        "bytes": run.size,
        "rows_done": progress.rows_done,
        "rows_total": progress.rows_total,
        "percent": progress.percent,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "result": outcome.get("import"),
        "error": {"code": error["code"], "message": error["message"]} if error else None,
    }


@blp.route(f"/<any({', '.join(KINDS)}):kind>", methods=["POST"])
@requires("imports.run")
@blp.arguments(ImportArgs, location="query")
@blp.arguments(UploadSchema, location="files")
@blp.response(201, ImportResultSchema)
@blp.alt_response(
    202,
    schema=ImportRunSchema,
    description="The file is large: it is imported in the "
    "background. Poll the `Location` (GET /imports/{id}) until its status is done or failed.",
)
@blp.alt_response(
    422,
    schema=ImportRefusedSchema,
    description="Nothing was imported: the file's problems, keyed `line.<N>.<field>`.",
)
@may_answer(404, 413)
def run_import(args, files, kind):
    """Import a file of ``kind`` (regional staff): all rows, or none.

    The errors of a refused file are keyed ``line.<N>.<field>``, e.g. ``line.7.activity_date``;
    ``more_errors`` counts the problems beyond the first 1,000. A file larger than
    ``IMPORT_BACKGROUND_BYTES`` (1 MB by default) answers 202 and is imported in the background.
    """
    upload = files["file"]
    size = stream_size(upload.stream)
    if size is None or size > current_app.config["IMPORT_BACKGROUND_BYTES"]:
        run = queue_import(
            kind, upload.stream, upload.filename or "", actor=caller(), reason=args.get("reason")
        )
        start_after_this_request()
        # Returned as a response of its own: the decorator would dump it as the 201 schema.
        response = jsonify(ImportRunSchema().dump(run_status(run)))
        response.status_code = 202
        response.headers["Location"] = url_for("imports.import_run_status", run_id=run.id)
        return response
    result = import_file(
        kind, upload.stream, upload.filename or "", actor=caller(), reason=args.get("reason")
    )
    if not result.ok:
        db.session.rollback()
        errors: dict[str, list[str]] = {}
        for error in result.errors:
            errors.setdefault(f"line.{error.line}.{error.field}", []).append(error.message)
        lines = len({error.line for error in result.errors})
        message = f"Nothing was imported: {lines} line(s) of the file are not valid."
        if result.more_errors:
            message = (
                f"Nothing was imported: the first {len(result.errors):,} problems are listed, "
                f"and {result.more_errors:,} more errors."
            )
        raise ValidationFailed(errors, message=message, extra={"more_errors": result.more_errors})
    return result.as_dict()


@blp.route("/<id:run_id>", methods=["GET"])
@requires("imports.run")
@blp.response(200, ImportRunSchema)
@may_answer(404)
def import_run_status(run_id):
    """Where a background import stands (only its uploader sees it): poll until done or failed."""
    return run_status(import_run_for(caller(), run_id))
