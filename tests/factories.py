"""Factories that build valid rows with sensible defaults; every argument can be overridden."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timezone

from kamcrm.accounts.models import Account, ContactPerson, TierAssignment
from kamcrm.activities.models import Activity
from kamcrm.extensions import db
from kamcrm.org.models import Office, User

_sequence = itertools.count(1)


class Factories:
    """Builders for offices, users, accounts (with a tier) and activities; each flushes."""

    def region(self, code: str = "R2", **fields) -> Office:
        existing = db.session.execute(db.select(Office).filter_by(code=code)).scalar_one_or_none()
        if existing is not None:
            return existing
        return self._add(
            Office(
                code=code, name=fields.pop("name", "กฟฟ. เขต 2"), office_class="region", **fields
            )
        )

    def office(
        self,
        code: str | None = None,
        office_class: str = "1",
        parent: Office | None = None,
        **fields,
    ) -> Office:
        n = next(_sequence)
        if parent is None and office_class != "region":
            parent = self.region()
        return self._add(
            Office(
                code=code or f"O{n}",
                name=fields.pop("name", f"สำนักงาน {n}"),
                office_class=office_class,
                parent=parent,
                **fields,
            )
        )

    def branch(self, parent: Office, code: str | None = None, **fields) -> Office:
        return self.office(code=code, office_class="branch", parent=parent, **fields)

    def user(
        self,
        role: str = "kamr",
        office: Office | None = None,
        username: str | None = None,
        **fields,
    ) -> User:
        n = next(_sequence)
        office = office or self.office()
        return self._add(
            User(
                username=username or f"user{n}",
                full_name=fields.pop("full_name", f"ผู้ใช้ {n}"),
                role=role,
                office=office,
                **fields,
            )
        )

    def account(
        self,
        office: Office | None = None,
        tier: str | None = "STRATEGIC",
        tier_from: date = date(2000, 1, 1),
        account_no: str | None = None,
        **fields,
    ) -> Account:
        n = next(_sequence)
        account = self._add(
            Account(
                account_no=account_no or f"AC{n:08d}",
                name=fields.pop("name", f"บริษัท ตัวอย่าง {n} จำกัด"),
                office=office or self.office(),
                **fields,
            )
        )
        if tier is not None or tier_from is not None:
            self.tier(account, tier, tier_from)
        return account

    def tier(self, account: Account, tier: str | None, effective_from: date) -> TierAssignment:
        return self._add(TierAssignment(account=account, tier=tier, effective_from=effective_from))

    def contact(self, account: Account, **fields) -> ContactPerson:
        return self._add(
            ContactPerson(account=account, name=fields.pop("name", "คุณสมชาย"), **fields)
        )

    def activity(
        self,
        account: Account,
        type: str = "COM",
        activity_date: date = date(2021, 2, 1),
        performed_by: User | None = None,
        status: str = "done",
        exec_role: str | None = None,
        recorded_at: datetime | None = None,
        **fields,
    ) -> Activity:
        if type == "EXV" and exec_role is None:
            exec_role = "office_manager"
        performer = performed_by or self.user(office=account.office)
        recorded = recorded_at or datetime(
            activity_date.year, activity_date.month, activity_date.day, 3, tzinfo=timezone.utc
        )
        return self._add(
            Activity(
                account=account,
                type=type,
                activity_date=activity_date,
                status=status,
                exec_role=exec_role,
                performed_by=performer,
                recorded_at=recorded,
                **fields,
            )
        )

    @staticmethod
    def _add(row):
        db.session.add(row)
        db.session.flush()
        return row

    def complaint(
        self,
        office: Office | None = None,
        account: Account | None = None,
        *,
        category: str = "OTHER",
        received_at: datetime | str = "2021-02-01T09:00:00+07:00",
        closed_at: datetime | str | None = None,
        resolution: str | None = None,
        **fields,
    ):
        """Record a complaint through the operation (it works out the day and the close's measures)."""
        from kamcrm.complaints.operations import create_complaint

        row = {
            "ref": fields.pop("ref", f"CMP{next(_sequence):06d}"),
            "category": category,
            "received_at": received_at,
            "closed_at": closed_at,
            "resolution": resolution or ("fixed" if closed_at else None),
            **fields,
        }
        if account is not None:
            row["account_no"] = account.account_no
        if office is not None:
            row["office_code"] = office.code
        elif account is None:
            row["office_code"] = self.office().code
        return create_complaint(row, None)

    def service_job(
        self,
        office: Office,
        *,
        kind: str = "meter_install",
        completed_on: date = date(2021, 2, 1),
        **fields,
    ):
        """Add a service job (SPEC section 9)."""
        from kamcrm.surveys.models import ServiceJob

        return self._add(
            ServiceJob(
                ref=fields.pop("ref", f"JOB{next(_sequence):06d}"),
                office_id=office.id,
                kind=kind,
                completed_on=completed_on,
                **fields,
            )
        )

    def survey_answer(
        self,
        office: Office,
        *,
        channel: str = "sms",
        score: int = 5,
        answered_on: date = date(2021, 2, 2),
        job=None,
    ):
        """Add a service job of ``office`` (unless ``job`` is given) and an answer to it; return both."""
        from kamcrm.surveys.models import SurveyAnswer

        job = job or self.service_job(office)
        return job, self._add(
            SurveyAnswer(job_id=job.id, channel=channel, score=score, answered_on=answered_on)
        )


def sign_in(client, user: User) -> str:
    """Sign ``client`` in as ``user`` exactly as the login page leaves it; return the secret.

    A session row (flushed; call inside the app context of ``client``'s app) and the cookie
    that refers to it; no password hashing.
    """
    import time

    from kamcrm.org.sessions import LAST_SEEN_KEY, SESSION_KEY, start_session

    secret = start_session(user)
    with client.session_transaction() as session:
        session.clear()
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
        session[SESSION_KEY] = secret
        session[LAST_SEEN_KEY] = int(time.time())
        session.permanent = True
    return secret
