"""Service jobs and surveys: one validation per file row, and the operations every entry
point calls (pages, API, imports).

Rows use the field names of the files of SPEC section 9: ``service_jobs`` (ref,
office_code, kind, account_no, customer_name, phone, completed_on), ``surveys`` (job_ref,
channel, answered_on, score, comment, surveyed_by) and ``smile_box`` (office_code, day,
served, score_1, score_2, score_3 and our optional ``followed_up``).

Rules kept here: dates are Bangkok dates, never in the future; an answer is never before its
job's ``completed_on``; a score is a whole number 1-5; a job has at most one answer per
channel (a re-imported (job_ref, channel) updates it); a Smile Box day's ratings never exceed
those served, nor its followed-up count its low ratings. The office (and the job of an
answer) lies in the actor's scope: out of scope reads as unknown. Operations ``flush()``;
the caller commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from kamcrm import fields, limits
from kamcrm.audit.operations import changed_fields, record
from kamcrm.errors import Conflict, Message, ValidationFailed
from kamcrm.extensions import db
from kamcrm.lookups import Lookups
from kamcrm.org.access import office_ids_in_scope, require
from kamcrm.surveys.models import (
    JOB_KINDS,
    SURVEY_CHANNELS,
    SmileBoxDay,
    SurveyAnswer,
    SurveyTarget,
)
from kamcrm.surveys.queries import LOW_SCORES, job_for
from kamcrm.surveys.targets import survey_targets

JOB_FIELDS = ("ref", "office_code", "kind", "account_no", "customer_name", "phone", "completed_on")
ANSWER_FIELDS = ("job_ref", "channel", "answered_on", "score", "comment", "surveyed_by")
SMILE_BOX_FIELDS = ("office_code", "day", "served", "score_1", "score_2", "score_3", "followed_up")

_KIND = fields.Choice(JOB_KINDS, what="a service job kind", lower=True)
_CHANNEL = fields.Choice(SURVEY_CHANNELS, what="a survey channel", lower=True)
#: The largest tally a Smile Box cell may hold (a day's customers at one office).
MAX_TALLY = 1_000_000


def whole_number(
    raw: Mapping[str, object],
    field: str,
    errors: fields.Errors,
    *,
    minimum: int,
    maximum: int,
    required: bool = False,
) -> int | None:
    """Return the whole number in ``field`` between ``minimum`` and ``maximum``; None when blank."""
    value = fields.clean(raw.get(field))
    if value is None:
        if required:
            fields.add_error(errors, field, fields.REQUIRED)
        return None
    parsed = None
    if isinstance(value, bool):
        parsed = None
    elif isinstance(value, int):
        parsed = value
    elif isinstance(value, (float, Decimal, str)):
        try:
            number = Decimal(str(value).strip())
            if number.is_finite() and number == number.to_integral_value():
                parsed = int(number)
        except (InvalidOperation, ValueError):
            parsed = None
    if parsed is None:
        fields.add_error(
            errors, field, Message("%(value)s is not a whole number", value=repr(str(value))[:60])
        )
        return None
    if not minimum <= parsed <= maximum:
        fields.add_error(
            errors,
            field,
            Message(
                "%(value)s is not between %(minimum)s and %(maximum)s",
                value=parsed,
                minimum=minimum,
                maximum=maximum,
            ),
        )
        return None
    return parsed


def _not_future(day: date | None, field: str, today: date, errors: fields.Errors) -> date | None:
    if day is not None and day > today:
        fields.add_error(errors, field, Message("%(day)s is in the future", day=day.isoformat()))
        return None
    return day


def _office(raw, lookups: Lookups, office_ids, errors) -> int | None:
    code = fields.text(raw, "office_code", errors, required=True, max_length=limits.OFFICE_CODE)
    if code is None:
        return None
    office = lookups.offices.get(code)
    if office is None or (office_ids is not None and office.id not in office_ids):
        fields.add_error(errors, "office_code", Message("unknown office '%(code)s'", code=code))
        return None
    return office.id


def validate_job_row(
    raw: Mapping[str, object],
    lookups: Lookups,
    *,
    today: date,
    office_ids: frozenset[int] | None = None,
) -> tuple[dict, fields.Errors]:
    """Check a ``service_jobs`` row; return (the columns of ``ServiceJob``, errors).

    ``account_no`` is kept as given; ``account_id`` is set when it names a key account the
    actor sees (most surveyed customers are not key accounts, so an unknown number is no error).
    """
    errors: fields.Errors = {}
    values = {
        "ref": fields.text(raw, "ref", errors, required=True, max_length=100, one_line=True),
        "office_id": _office(raw, lookups, office_ids, errors),
        "kind": _KIND(raw, "kind", errors, required=True),
        "account_no": fields.text(
            raw, "account_no", errors, max_length=limits.ACCOUNT_NO, one_line=True
        ),
        "account_id": None,
        "customer_name": fields.text(
            raw, "customer_name", errors, max_length=limits.ACCOUNT_NAME, one_line=True
        ),
        "phone": fields.text(raw, "phone", errors, max_length=limits.PHONE, one_line=True),
        "completed_on": _not_future(
            fields.day(raw, "completed_on", errors, required=True), "completed_on", today, errors
        ),
    }
    if values["account_no"] is not None:
        account = lookups.accounts.get(values["account_no"])
        if account is not None and (office_ids is None or account.office_id in office_ids):
            values["account_id"] = account.id
    if values["completed_on"] is None and "completed_on" not in errors:
        fields.add_error(errors, "completed_on", fields.REQUIRED)
    return values, errors


def validate_answer_row(
    raw: Mapping[str, object], job, *, today: date
) -> tuple[dict, fields.Errors]:
    """Check a ``surveys`` row whose ``job_ref`` named ``job`` (a row with ``id`` and
    ``completed_on``; None: unknown or out of scope); return (the columns of
    ``SurveyAnswer``, errors)."""
    errors: fields.Errors = {}
    ref = fields.text(raw, "job_ref", errors, required=True, max_length=100)
    if ref is not None and job is None:
        fields.add_error(errors, "job_ref", Message("unknown service job '%(ref)s'", ref=ref))
    values = {
        "job_id": None if job is None else job.id,
        "channel": _CHANNEL(raw, "channel", errors, required=True),
        "answered_on": _not_future(
            fields.day(raw, "answered_on", errors, required=True), "answered_on", today, errors
        ),
        "score": whole_number(raw, "score", errors, minimum=1, maximum=5, required=True),
        "comment": fields.text(raw, "comment", errors, max_length=limits.SUMMARY),
        "surveyed_by": fields.text(
            raw, "surveyed_by", errors, max_length=limits.PERSON_NAME, one_line=True
        ),
    }
    answered = values["answered_on"]
    if job is not None and answered is not None and answered < job.completed_on:
        fields.add_error(
            errors,
            "answered_on",
            Message(
                "%(day)s is before the job was completed (%(completed)s)",
                day=answered.isoformat(),
                completed=job.completed_on.isoformat(),
            ),
        )
    return values, errors


def validate_smile_box_row(
    raw: Mapping[str, object],
    lookups: Lookups,
    *,
    today: date,
    office_ids: frozenset[int] | None = None,
) -> tuple[dict, fields.Errors]:
    """Check a ``smile_box`` row; return (the columns of ``SmileBoxDay``, errors)."""
    errors: fields.Errors = {}
    values = {
        "office_id": _office(raw, lookups, office_ids, errors),
        "day": _not_future(fields.day(raw, "day", errors, required=True), "day", today, errors),
        "served": whole_number(raw, "served", errors, minimum=0, maximum=MAX_TALLY, required=True),
    }
    for name in ("score_1", "score_2", "score_3", "followed_up"):
        found = whole_number(raw, name, errors, minimum=0, maximum=MAX_TALLY)
        values[name] = 0 if found is None else found
    scores = ("score_1", "score_2", "score_3")
    if values["served"] is not None and not any(name in errors for name in scores):
        ratings = sum(values[name] for name in scores)
        if ratings > values["served"]:
            fields.add_error(
                errors,
                "served",
                Message(
                    "%(served)s served is fewer than the %(ratings)s ratings",
                    served=values["served"],
                    ratings=ratings,
                ),
            )
    if (
        "followed_up" not in errors
        and values["followed_up"] > values["score_1"] + values["score_2"]
    ):
        fields.add_error(
            errors,
            "followed_up",
            Message(
                "%(count)s followed up is more than the %(low)s low ratings (score_1 + score_2)",
                count=values["followed_up"],
                low=values["score_1"] + values["score_2"],
            ),
        )
    return values, errors


def _raise(errors: fields.Errors) -> None:
    if errors:
        raise ValidationFailed(errors, Message("The survey answer is not valid."))


def answer_record(answer: SurveyAnswer) -> dict:
    """Return an answer as a file row (its audit snapshot)."""
    return {
        "job_ref": answer.job.ref,
        "channel": answer.channel,
        "answered_on": answer.answered_on.isoformat(),
        "score": answer.score,
        "comment": answer.comment,
        "surveyed_by": answer.surveyed_by,
        "followed_up_on": None
        if answer.followed_up_on is None
        else answer.followed_up_on.isoformat(),
        "follow_up_note": answer.follow_up_note,
    }


def record_phone_answer(
    actor, job_ref: str, data: Mapping[str, object], *, today: date
) -> SurveyAnswer:
    """Record the customer's phone answer to job ``job_ref`` (score 1-5, answered_on, comment).

    An answer after the 15-day window is stored (it counts toward the mean) but not toward the
    quota. A job that already has a phone answer is refused: re-importing it updates it.
    """
    job = job_for(actor, job_ref)
    require(actor, "surveys.record")
    values, errors = validate_answer_row(
        {**data, "job_ref": job.ref, "channel": "phone"}, job, today=today
    )
    _raise(errors)
    existing = db.session.execute(
        sa.select(SurveyAnswer.id).where(
            SurveyAnswer.job_id == job.id, SurveyAnswer.channel == "phone"
        )
    ).scalar_one_or_none()
    if existing is not None:
        raise Conflict(Message("Job %(ref)s already has a phone answer.", ref=job.ref))
    if values["surveyed_by"] is None and actor is not None:
        values["surveyed_by"] = actor.full_name
    answer = SurveyAnswer(**values, recorded_by_id=getattr(actor, "id", None))
    answer.job = job
    db.session.add(answer)
    db.session.flush()
    record("create", "survey_answers", f"{job.ref}:phone", actor=actor, after=answer_record(answer))
    return answer


def record_follow_up(
    actor, answer: SurveyAnswer, followed_up_on: date | None, note: str | None, *, today: date
) -> SurveyAnswer:
    """Record that a low score (1 or 2) was followed up on ``followed_up_on`` (with a note)."""
    require(actor, "surveys.follow_up")
    errors: fields.Errors = {}
    if answer.score not in LOW_SCORES:
        fields.add_error(errors, "score", Message("only a score of 1 or 2 needs a follow-up"))
    day = _not_future(
        fields.day({"followed_up_on": followed_up_on}, "followed_up_on", errors, required=True),
        "followed_up_on",
        today,
        errors,
    )
    if day is not None and day < answer.answered_on:
        fields.add_error(
            errors,
            "followed_up_on",
            Message(
                "%(day)s is before the answer (%(answered)s)",
                day=day.isoformat(),
                answered=answer.answered_on.isoformat(),
            ),
        )
    clean_note = fields.text({"note": note}, "note", errors, max_length=limits.FOLLOW_UP_ACTION)
    if errors:
        raise ValidationFailed(errors, Message("The follow-up is not valid."))
    before = answer_record(answer)
    answer.followed_up_on, answer.follow_up_note = day, clean_note
    db.session.flush()
    old, new = changed_fields(before, answer_record(answer))
    record(
        "update",
        "survey_answers",
        f"{answer.job.ref}:{answer.channel}",
        actor=actor,
        before=old,
        after=new,
    )
    return answer


_TARGET_FIELDS = (
    "quota_meter_install",
    "quota_extension",
    "quota_dedicated_transformer",
    "satisfaction_target",
    "smile_box_share_pct",
)


def set_survey_targets(actor, year: int, data: Mapping[str, object]) -> SurveyTarget:
    """Set ``year``'s phone-answer quotas, satisfaction target and Smile Box share target.

    A field left out keeps its current value (the year's or the default). Audited.
    """
    require(actor, "targets.edit")
    current = survey_targets(year)
    errors: fields.Errors = {}
    values = {}
    for kind in ("meter_install", "extension", "dedicated_transformer"):
        name = f"quota_{kind}"
        found = whole_number(data, name, errors, minimum=0, maximum=1000) if name in data else None
        values[name] = current.quotas[kind] if found is None else found
    satisfaction = (
        fields.number(data, "satisfaction_target", errors, digits=6, places=4)
        if "satisfaction_target" in data
        else None
    )
    if satisfaction is not None and not Decimal(1) <= satisfaction <= Decimal(5):
        fields.add_error(errors, "satisfaction_target", Message("is not between 1 and 5"))
    values["satisfaction_target"] = current.satisfaction if satisfaction is None else satisfaction
    share = (
        fields.number(data, "smile_box_share_pct", errors, digits=5, places=2)
        if "smile_box_share_pct" in data
        else None
    )
    if share is not None and share > 100:
        fields.add_error(errors, "smile_box_share_pct", Message("is not between 0 and 100"))
    values["smile_box_share_pct"] = current.smile_box_share_pct if share is None else share
    if errors:
        raise ValidationFailed(errors, Message("The survey targets are not valid."))
    row = db.session.execute(
        sa.select(SurveyTarget).where(SurveyTarget.year == year)
    ).scalar_one_or_none()
    before = {**current.as_dict()}
    if row is None:
        row = SurveyTarget(year=year, **values)
        db.session.add(row)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    db.session.flush()
    old, new = changed_fields(before, survey_targets(year).as_dict())
    record("update", "survey_targets", str(year), actor=actor, before=old, after=new)
    return row


def set_smile_box_follow_ups(actor, office_code: str, day, followed_up) -> SmileBoxDay:
    """Record how many of an office's low Smile Box ratings (1, 2) of ``day`` were followed
    up by phone within 10 days (the office's own count; at most the day's low ratings)."""
    require(actor, "surveys.follow_up")
    errors: fields.Errors = {}
    raw = {"office_code": office_code, "day": day, "followed_up": followed_up}
    office_ids = office_ids_in_scope(actor)
    office_id = _office(raw, Lookups.for_keys(office_codes=[office_code]), office_ids, errors)
    found_day = fields.day(raw, "day", errors, required=True)
    count = whole_number(raw, "followed_up", errors, minimum=0, maximum=MAX_TALLY, required=True)
    row = None
    if office_id is not None and found_day is not None:
        row = db.session.execute(
            sa.select(SmileBoxDay).where(
                SmileBoxDay.office_id == office_id, SmileBoxDay.day == found_day
            )
        ).scalar_one_or_none()
        if row is None:
            fields.add_error(
                errors,
                "day",
                Message(
                    "no Smile Box tally of %(code)s on %(day)s",
                    code=office_code,
                    day=found_day.isoformat(),
                ),
            )
    if row is not None and count is not None and count > row.score_1 + row.score_2:
        fields.add_error(
            errors,
            "followed_up",
            Message(
                "%(count)s followed up is more than the %(low)s low ratings (score_1 + score_2)",
                count=count,
                low=row.score_1 + row.score_2,
            ),
        )
    if errors:
        raise ValidationFailed(errors, Message("The follow-up is not valid."))
    before = row.followed_up
    row.followed_up = count
    db.session.flush()
    record(
        "update",
        "smile_box_days",
        f"{office_code}@{found_day.isoformat()}",
        actor=actor,
        before={"followed_up": before},
        after={"followed_up": count},
    )
    return row
