"""The importers of SPEC section 9's files: ``service_jobs``, ``surveys`` and ``smile_box``.

They work as every importer of ``kamcrm.imports.kinds`` does (all or nothing, line-numbered
errors, set-based writes in chunks) and are listed in its ``IMPORTERS``. Keys: a job's
``ref``; an answer's (``job_ref``, ``channel``): a job has at most one SMS and one phone
answer, and a re-imported pair updates it; a Smile Box tally's (``office_code``, ``day``):
a re-imported day replaces its counts (``followed_up`` only when the file has that column,
since the office records it later). Every row's office, and an answer's job, must lie in
the importer's scope; the kinds need ``imports.run`` (regional staff and admin).
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from kamcrm.errors import Message
from kamcrm.extensions import db
from kamcrm.imports.bulk import Errors, Importer, RowErrors
from kamcrm.lookups import Lookups
from kamcrm.surveys import operations as survey_ops
from kamcrm.surveys.models import ServiceJob, SmileBoxDay, SurveyAnswer


def _audit_value(name, value):
    return name, value.isoformat() if isinstance(value, date) else value


def _row_errors(line: int, row_errors: Errors) -> RowErrors:
    return [
        (line, field, message) for field, messages in row_errors.items() for message in messages
    ]


class ServiceJobImporter(Importer):
    """Service jobs: a re-imported ref updates the job (columns left out keep their values)."""

    kind = "service_jobs"
    analyzed_tables = ("service_jobs",)
    columns = survey_ops.JOB_FIELDS
    required = ("ref", "office_code", "kind", "completed_on")
    permission = "imports.run"
    _columns = {
        "office_id": "office_code",
        "kind": "kind",
        "account_no": "account_no",
        "account_id": "account_no",
        "customer_name": "customer_name",
        "phone": "phone",
        "completed_on": "completed_on",
    }

    def __init__(self, context):
        super().__init__(context)
        self.lookups = Lookups.load(offices=True, users=False, accounts=True)
        self.codes = {ref.id: ref.code for ref in self.lookups.offices.values()}

    def check(self, line, raw):
        values, errors = survey_ops.validate_job_row(
            raw, self.lookups, today=self.context.today, office_ids=self.visible
        )
        if values["ref"] is not None:
            self.duplicate(values["ref"], line, "ref", f"'{values['ref']}'", errors)
        if errors:
            return errors
        self.pending.append((line, values))
        return None

    def flush(self, write):
        pending, self.pending = self.pending, []
        if not pending:
            return []
        refs = [values["ref"] for _, values in pending]
        stored = dict(
            db.session.execute(
                sa.select(ServiceJob.ref, ServiceJob.office_id).where(ServiceJob.ref.in_(refs))
            ).all()
        )
        errors: RowErrors = [
            (
                line,
                "ref",
                Message("'%(ref)s' is the ref of a job outside your scope", ref=values["ref"]),
            )
            for line, values in pending
            if values["ref"] in stored and not self.sees(stored[values["ref"]])
        ]
        if errors or not write:
            return errors

        def describe(name, value):
            if name == "office_id":
                return "office_code", self.codes.get(value)
            return _audit_value(name, value)

        self.upsert(
            ServiceJob.__table__,
            ("ref",),
            [values for _, values in pending],
            self.present(self._columns),
            entity="service_jobs",
            describe=describe,
        )
        return []


class SurveyImporter(Importer):
    """Survey answers keyed by (job_ref, channel): a re-imported pair updates the answer."""

    kind = "surveys"
    columns = survey_ops.ANSWER_FIELDS
    required = ("job_ref", "channel", "answered_on", "score")
    permission = "imports.run"
    _columns = {
        "answered_on": "answered_on",
        "score": "score",
        "comment": "comment",
        "surveyed_by": "surveyed_by",
    }

    def check(self, line, raw):
        ref, channel = raw.get("job_ref"), raw.get("channel")
        ref = ref.strip() if isinstance(ref, str) else ref
        channel = channel.strip().lower() if isinstance(channel, str) else channel
        errors: Errors = {}
        if ref and channel:
            self.duplicate((ref, channel), line, "job_ref", f"'{ref}' ({channel})", errors)
        if errors:
            return errors
        self.pending.append((line, raw))
        return None

    def flush(self, write):
        pending, self.pending = self.pending, []
        if not pending:
            return []
        refs = sorted(
            {raw["job_ref"].strip() for _, raw in pending if isinstance(raw.get("job_ref"), str)}
        )
        jobs = {}
        for start in range(0, len(refs), 1000):
            for job in db.session.execute(
                sa.select(
                    ServiceJob.id, ServiceJob.ref, ServiceJob.office_id, ServiceJob.completed_on
                ).where(ServiceJob.ref.in_(refs[start : start + 1000]))
            ):
                if self.sees(job.office_id):
                    jobs[job.ref] = job
        errors: RowErrors = []
        rows = []
        for line, raw in pending:
            ref = raw.get("job_ref")
            job = jobs.get(ref.strip()) if isinstance(ref, str) else None
            values, row_errors = survey_ops.validate_answer_row(raw, job, today=self.context.today)
            if row_errors:
                errors.extend(_row_errors(line, row_errors))
                continue
            rows.append({**values, "recorded_by_id": getattr(self.context.actor, "id", None)})
        if errors or not write:
            return errors
        refs_of = {job.id: job.ref for job in jobs.values()}

        def describe(name, value):
            if name == "job_id":
                return "job_ref", refs_of.get(value)
            return _audit_value(name, value)

        self.upsert(
            SurveyAnswer.__table__,
            ("job_id", "channel"),
            rows,
            self.present(self._columns),
            entity="survey_answers",
            describe=describe,
        )
        return []


class SmileBoxImporter(Importer):
    """Smile Box tallies keyed by (office_code, day): a re-imported day replaces its counts."""

    kind = "smile_box"
    columns = survey_ops.SMILE_BOX_FIELDS
    required = ("office_code", "day", "served")
    permission = "imports.run"

    def __init__(self, context):
        super().__init__(context)
        self.lookups = Lookups.load(offices=True, users=False)
        self.codes = {ref.id: ref.code for ref in self.lookups.offices.values()}

    def check(self, line, raw):
        values, errors = survey_ops.validate_smile_box_row(
            raw, self.lookups, today=self.context.today, office_ids=self.visible
        )
        if values["office_id"] is not None and values["day"] is not None:
            self.duplicate(
                (values["office_id"], values["day"]),
                line,
                "day",
                f"'{self.codes[values['office_id']]}' on {values['day'].isoformat()}",
                errors,
            )
        if errors:
            return errors
        self.pending.append((line, values))
        return None

    def flush(self, write):
        pending, self.pending = self.pending, []
        if not pending or not write:
            return []
        update = ["served", "score_1", "score_2", "score_3"]
        if "followed_up" in self.context.header:
            update.append("followed_up")

        def describe(name, value):
            if name == "office_id":
                return "office_code", self.codes.get(value)
            return _audit_value(name, value)

        self.upsert(
            SmileBoxDay.__table__,
            ("office_id", "day"),
            [values for _, values in pending],
            update,
            entity="smile_box_days",
            describe=describe,
        )
        return []


#: Listed in ``kamcrm.imports.kinds.IMPORTERS``, in the order a region loads them.
SURVEY_IMPORTERS = (ServiceJobImporter, SurveyImporter, SmileBoxImporter)
