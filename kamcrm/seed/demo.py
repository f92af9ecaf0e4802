"""The demo region: a deterministic, realistic PEA Area 2 for trying kamcrm out.

Everything comes from one ``random.Random(SEED)`` and the chosen ``today``, so the same
``today`` gives the same rows (only the password hashes differ: passwords are random and
never stored anywhere but the instance folder). The data lives in ``seeds/demo_region.toml``.

On ``today`` the region holds exactly the FY plan's tiered populations (165 STRATEGIC,
106 STAR, 272 STATUS) plus about 1,500 STREAMLINE accounts, besides accounts that closed
last year or lost their tier. Activities cover the last full year and this year up to
``today`` (planned ones a few weeks beyond), imperfect on purpose: some offices fall
behind, some entries are late, some activities were cancelled.

Rows are written with set-based inserts: the data is generated, not entered, so it skips
the per-record operations (and their audit entries); one audit entry records the seed.
"""

from __future__ import annotations

import random
import secrets
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from kamcrm.accounts.models import Account, ContactPerson, TierAssignment
from kamcrm.activities.models import Activity, FollowUp
from kamcrm.audit.models import AuditEntry
from kamcrm.complaints.models import Complaint
from kamcrm.complaints.queries import days_between, micros_between
from kamcrm.complaints.targets import DEFAULT_CATEGORIES
from kamcrm.extensions import db
from kamcrm.imports.bulk import insert_rows
from kamcrm.org.models import Office, User
from kamcrm.periods import (
    BANGKOK,
    is_late_entry,
    quarter_close_date,
    quarter_window,
    recording_deadline,
)
from kamcrm.prevention.models import REPORT_DAYS, PreventionPlan, PreventionReport
from kamcrm.surveys.models import ServiceJob, SmileBoxDay, SurveyAnswer
from kamcrm.voc.models import VocMark

#: The seed of every random choice: the report form's fiscal year (BE 2564).
SEED = 2564
#: Where the region's names and places are kept.
DATA_FILE = Path(__file__).resolve().parent.parent.parent / "seeds" / "demo_region.toml"
#: Accounts per tier active on ``today``: the FY plan's populations (SPEC section 2).
PLANNED = {"STRATEGIC": 165, "STAR": 106, "STATUS": 272}
#: The long tail.
STREAMLINE_ACCOUNTS = 1500
#: STRATEGIC accounts held by the regional office itself (115 kV customers).
REGION_HELD = 4
#: KAMRs per office by class; a branch has one on every other branch.
KAMRS_PER_CLASS = {"1": 3, "2": 2, "3": 1}
#: How far past ``today`` planned activities reach.
PLANNING_DAYS = 45

CHANNELS_BY_TYPE = {
    "FMS": ("visit",),
    "RBA": ("visit", "meeting", "other"),
    "COM": ("phone", "phone", "email", "line", "visit", "letter", "online"),
    "EXV": ("visit",),
    "SEM": ("meeting",),
    "PLN": ("meeting", "letter", "online"),
    "BOI": ("visit", "meeting", "online"),
}
#: Sectors whose customers are factories (BOI promotion, industrial estates, SPP areas).
NON_INDUSTRIAL = {"hotel and resort", "shopping mall", "hospital", "water supply", "university"}
STANDARD_KVA = (160, 250, 315, 400, 500, 630, 800, 1000, 1250, 1500, 2000, 2500)
FOLLOW_UP_ACTIONS = (
    "ส่งใบเสนอราคาบริการบำรุงรักษา",
    "นัดตรวจ Thermoscan ซ้ำหลังแก้ไขจุดร้อน",
    "ประสานแผนกปฏิบัติการตรวจแรงดันตก",
    "ส่งข้อมูลเงื่อนไขการขนานไฟโซลาร์รูฟท็อป",
    "แจ้งผลการพิจารณาขอเพิ่มขนาดหม้อแปลง",
    "ส่งรายงานสรุปการประชุมให้ลูกค้า",
)


@dataclass
class DemoResult:
    """What the seed loaded, and the sign-ins it made (username, role, exec_role, office, password)."""

    today: date
    counts: dict[str, int] = field(default_factory=dict)
    tiers_today: dict[str, int] = field(default_factory=dict)
    logins: list[tuple[str, str, str | None, str, str]] = field(default_factory=list)


def load_region(path: Path = DATA_FILE) -> dict:
    """Return the region's data (offices, names, summaries) from the TOML file."""
    with path.open("rb") as handle:
        return tomllib.load(handle)


#: The share of the seed's time done after each step (measured: closing the quarters with
#: their CR2 snapshots is most of it), for the command's progress bar.
STEP_SHARES = {
    "offices": 0.01,
    "users": 0.02,
    "accounts": 0.05,
    "activities": 0.23,
    "complaints": 0.235,
    "surveys": 0.236,
    "voc": 0.237,
    "prevention": 0.238,
    "consumption": 0.239,
    "passwords": 0.24,
    "quarters": 0.86,
    "monthly": 1.0,
}


def seed_demo(
    today: date,
    *,
    progress: Callable[[str | None, float], None] | None = None,
    passwords: bool = True,
    close_quarters: bool = True,
) -> DemoResult:
    """Load the demo region as of ``today`` into an empty database (flushes; the caller commits).

    ``close_quarters`` closes every quarter whose close date has come by ``today``, keeping
    its CR2 snapshot, as the regional office would have. ``passwords`` False leaves every
    user without a password. Both are on for the command; tests of the data turn them off.
    ``progress(message, share)`` is told each step's outcome (``message``; None between steps)
    and the share of the work done (0 to 1).
    """
    return _DemoRegion(today, load_region(), progress or (lambda message, share: None)).load(
        passwords, close_quarters
    )


class _DemoRegion:
    def __init__(self, today: date, data: dict, progress: Callable[[str | None, float], None]):
        self.today = today
        self.data = data
        self.progress = progress
        self.rng = random.Random(SEED)
        #: Timestamp of every row the seed writes: ``today`` at 17:00 in Bangkok.
        self.now = datetime.combine(today, time(17, 0), BANGKOK).astimezone(timezone.utc)
        self.last_year = today.year - 1
        self.result = DemoResult(today)

    # --- the steps ---------------------------------------------------------------------------

    def say(self, message: str, step: str) -> None:
        """Report the outcome of ``step`` (a key of ``STEP_SHARES``)."""
        self.progress(message, STEP_SHARES[step])

    def load(self, passwords: bool, close_quarters: bool) -> DemoResult:
        self.offices()
        self.users()
        self.accounts()
        self.activities()
        self.complaints()
        self.surveys()
        self.voc_marks()
        self.prevention_plans()
        self.consumption()
        if passwords:
            self.passwords()
        if close_quarters:
            self.close_quarters()
            self.keep_monthly_summaries()
        db.session.execute(
            sa.insert(AuditEntry.__table__),
            [
                {
                    "occurred_at": self.now,
                    "actor_id": None,
                    "actor_name": None,
                    "action": "create",
                    "entity": "seed",
                    "entity_key": "demo",
                    "before": None,
                    "after": {"today": self.today.isoformat(), **self.result.counts},
                    "reason": None,
                }
            ],
        )
        return self.result

    def offices(self) -> None:
        region = self.data["region"]
        stamp = {"created_at": self.now, "updated_at": self.now}
        insert_rows(
            Office.__table__,
            [
                {
                    "code": region["code"],
                    "name": region["name"],
                    "name_en": region["name_en"],
                    "office_class": "region",
                    "parent_id": None,
                    **stamp,
                }
            ],
        )
        self.office_ids = self._ids(Office.code, Office.id)
        insert_rows(
            Office.__table__,
            [
                {
                    "code": o["code"],
                    "name": o["name"],
                    "name_en": o["name_en"],
                    "office_class": o["class"],
                    "parent_id": self.office_ids[region["code"]],
                    **stamp,
                }
                for o in self.data["offices"]
            ],
        )
        self.office_ids = self._ids(Office.code, Office.id)
        branches = [
            {
                "code": b["code"],
                "name": b["name"],
                "name_en": b["name_en"],
                "office_class": "branch",
                "parent_id": self.office_ids[o["code"]],
                **stamp,
            }
            for o in self.data["offices"]
            for b in o["branches"]
        ]
        insert_rows(Office.__table__, branches)
        self.office_ids = self._ids(Office.code, Office.id)
        self.result.counts["offices"] = len(self.office_ids)
        self.say(
            f"offices: the region, {len(self.data['offices'])} class 1-3 offices, {len(branches)} branches",
            "offices",
        )

    def users(self) -> None:
        rng = self.rng
        region = self.data["region"]["code"]
        people = self.data["people"]
        pairs = [(first, last) for first in people["first"] for last in people["last"]]
        rng.shuffle(pairs)
        self.people = iter(pairs)
        rows = []

        def add(username, role, office, exec_role=None):
            (first_th, first_en), (last_th, last_en) = next(self.people)
            rows.append(
                {
                    "username": username,
                    "full_name": f"{first_th} {last_th}",
                    "role": role,
                    "office_id": self.office_ids[office],
                    "exec_role": exec_role,
                    "email": f"{first_en.lower()}.{last_en[:2].lower()}@pea.co.th",
                    "active": True,
                    "locale": "th",
                    "created_at": self.now,
                    "updated_at": self.now,
                }
            )

        add("admin", "admin", region)
        add("director", "executive", region, "region_director")
        for n in (1, 2, 3):
            add(f"asst{n}", "executive", region, "assistant_director")
        for n in (1, 2, 3):
            add(f"staff{n}", "regional_staff", region)
        add("kamr.r2", "kamr", region)
        #: KAMRs who look after the accounts of each office and branch.
        self.kamrs: dict[str, list[str]] = {region: ["kamr.r2"]}
        self.manager_of: dict[str, str] = {}
        for office in self.data["offices"]:
            code = office["code"].lower()
            add(f"mgr.{code}", "office_manager", office["code"], "office_manager")
            self.manager_of[office["code"]] = f"mgr.{code}"
            names = [f"kamr.{code}{n}" for n in range(1, KAMRS_PER_CLASS[office["class"]] + 1)]
            for username in names:
                add(username, "kamr", office["code"])
            self.kamrs[office["code"]] = names
            for position, branch in enumerate(office["branches"]):
                if position % 2 == 0:
                    username = f"kamr.{branch['code'].lower()}1"
                    add(username, "kamr", branch["code"])
                    self.kamrs[branch["code"]] = [username]
                else:  # served by the parent office's KAMRs
                    self.kamrs[branch["code"]] = names
        insert_rows(User.__table__, rows)
        self.user_ids = self._ids(User.username, User.id)
        self.users_rows = rows
        self.result.counts["users"] = len(rows)
        self.say(
            f"users: {len(rows)} (KAMRs, office managers, executives, regional staff, an admin)",
            "users",
        )

    def accounts(self) -> None:
        rng = self.rng
        offices = self.data["offices"]
        parent = {b["code"]: o["code"] for o in offices for b in o["branches"]}
        self.parent = parent
        units = []  # (tier, office code, opened_on, closed_on, tier history)
        region = self.data["region"]["code"]
        weights = [o["weight"] for o in offices]
        # Tiered accounts cluster where the industry is; the long tail follows the population.
        tiered_weights = [w**1.3 for w in weights]
        tail_weights = [w**0.7 + 1 for w in weights]
        finals = (
            [("STRATEGIC", region)] * REGION_HELD
            + [
                (tier, o["code"])
                for tier, count in PLANNED.items()
                for o in rng.choices(
                    offices, tiered_weights, k=count - (REGION_HELD if tier == "STRATEGIC" else 0)
                )
            ]
            + [
                ("STREAMLINE", o["code"])
                for o in rng.choices(offices, tail_weights, k=STREAMLINE_ACCOUNTS)
            ]
        )
        year_start = date(self.today.year, 1, 1)
        for tier, office in finals:
            unit = office
            branches = next((o["branches"] for o in offices if o["code"] == office), [])
            if branches and rng.random() < 0.3:
                unit = rng.choice(branches)["code"]
            units.append(self._account(tier, unit))
        # Tier changes: some accounts rose or fell into today's tier during the two years.
        lower = {"STRATEGIC": "STAR", "STAR": "STATUS", "STATUS": "STREAMLINE"}
        higher = {"STAR": "STRATEGIC", "STATUS": "STAR"}
        for account in rng.sample([u for u in units if u["tier"] in lower], 30):
            when = rng.choice((date(self.last_year, 7, 1), year_start))
            tier = account["tier"]
            before = higher[tier] if tier in higher and rng.random() < 0.25 else lower[tier]
            if (
                account["opened_on"] < when
            ):  # tiered accounts opened years ago; a guard all the same
                account["history"] = [(before, account["opened_on"]), (tier, when)]
        # Accounts that left: closed last year, or lost their tier this year (not counted today).
        for _ in range(12):
            account = self._account(
                rng.choice(("STATUS", "STREAMLINE", "STREAMLINE")), rng.choice(offices)["code"]
            )
            account["closed_on"] = date(self.last_year, rng.randint(2, 11), rng.randint(1, 28))
            units.append(account)
        for _ in range(6):
            account = self._account(
                rng.choice(("STATUS", "STREAMLINE")), rng.choice(offices)["code"]
            )
            account["history"].append((None, year_start))
            units.append(account)
        # New customers this year: BOI-promoted factories that opened since January 1.
        span = (self.today - year_start).days
        for _ in range(25):
            account = self._account("STREAMLINE", rng.choice(offices)["code"], industrial=True)
            account["opened_on"] = year_start + timedelta(days=rng.randint(0, span))
            account["history"] = [("STREAMLINE", account["opened_on"])]
            account["boi"] = True
            units.append(account)
        # STREAMLINE count: the tail minus the new ones keeps "about 1,500"; the tiers stay exact.
        sequence = {}
        rows, tier_rows, contacts = [], [], []
        for account in units:
            office_code = account["office"]
            number = sequence.get(office_code, 0) + 1
            sequence[office_code] = number
            account["account_no"] = f"02{self._office_number(office_code):03d}{number:07d}"
            rows.append(
                {
                    key: account[key]
                    for key in (
                        "account_no",
                        "name",
                        "kamr_id",
                        "sector",
                        "industrial_estate",
                        "transformer_kva",
                        "monthly_revenue_thb",
                        "boi",
                        "spp_area",
                        "opened_on",
                        "closed_on",
                        "notes",
                    )
                }
                | {
                    "office_id": self.office_ids[office_code],
                    "version": 1,
                    "created_at": self.now,
                    "updated_at": self.now,
                }
            )
        insert_rows(Account.__table__, rows)
        ids = self._ids(Account.account_no, Account.id)
        for account in units:
            account["id"] = ids[account["account_no"]]
            for tier, effective_from in account["history"]:
                tier_rows.append(
                    {
                        "account_id": account["id"],
                        "tier": tier,
                        "effective_from": effective_from,
                        "created_at": self.now,
                        "updated_at": self.now,
                    }
                )
            for _ in range(
                {"STRATEGIC": 3, "STAR": 2, "STATUS": 2}.get(account["tier"], rng.choice((0, 1, 1)))
            ):
                contacts.append(self._contact(account))
        insert_rows(TierAssignment.__table__, tier_rows)
        if contacts:
            insert_rows(ContactPerson.__table__, contacts)
        self.units = units
        tiers_today = {}
        for account in units:
            if account["closed_on"] is None or account["closed_on"] > self.today:
                tier = self._tier_on(account, self.today)
                if tier is not None:
                    tiers_today[tier] = tiers_today.get(tier, 0) + 1
        self.result.tiers_today = tiers_today
        self.result.counts.update(
            accounts=len(rows), tier_assignments=len(tier_rows), contact_persons=len(contacts)
        )
        self.say(
            "accounts: "
            + ", ".join(
                f"{tiers_today.get(t, 0):,} {t}"
                for t in ("STRATEGIC", "STAR", "STATUS", "STREAMLINE")
            )
            + f" on {self.today} ({len(rows):,} with closed and untiered ones), {len(contacts):,} contacts",
            "accounts",
        )

    def activities(self) -> None:
        rng = self.rng
        offices = {o["code"]: o for o in self.data["offices"]}
        behind = {code for code, o in offices.items() if o.get("behind")}
        #: How diligent each office is this demo: the ones behind clearly less.
        diligence = {
            code: (rng.uniform(0.55, 0.75) if code in behind else rng.uniform(0.9, 1.0))
            for code in offices
        }
        diligence[self.data["region"]["code"]] = 1.0
        horizon = self.today + timedelta(days=PLANNING_DAYS)
        planned: list[dict] = []

        def home(account):
            return self.parent.get(account["office"], account["office"])

        def add(account, kind, day, performer=None, exec_role=None):
            if day > horizon or not self._active(account, day):
                return
            planned.append(
                {
                    "account": account,
                    "type": kind,
                    "day": day,
                    "exec_role": exec_role,
                    "performer": performer or account["kamr"],
                }
            )

        for year in (self.last_year, self.today.year):
            seminars = [date(year, 3, rng.randint(10, 25)), date(year, 9, rng.randint(8, 24))]
            for account in self.units:
                tier = self._tier_on(account, min(date(year, 12, 31), self.today))
                if tier is None:
                    continue
                care = diligence[home(account)]
                start = max(date(year, 1, 1), account["opened_on"] or date(year, 1, 1))
                if start > date(year, 12, 31):
                    continue
                tiered = tier != "STREAMLINE"
                if tiered and rng.random() < care:
                    add(account, "FMS", self._day_between(start, date(year, 12, 31)))
                if rng.random() < (care if tiered else 0.45 * care):
                    add(account, "RBA", self._day_between(start, date(year, 12, 31)))
                if tiered:
                    for quarter in (1, 2, 3, 4):
                        window = quarter_window(year, quarter)
                        if rng.random() < care:
                            for _ in range(rng.choice((1, 1, 2, 2, 3))):
                                add(
                                    account,
                                    "COM",
                                    self._day_between(max(window.start, start), window.end),
                                )
                else:
                    for first, last in (
                        (date(year, 1, 1), date(year, 6, 30)),
                        (date(year, 7, 1), date(year, 12, 31)),
                    ):
                        if rng.random() < 0.93 * care and start <= last:
                            add(account, "COM", self._day_between(max(first, start), last))
                if tier == "STRATEGIC" and rng.random() < 0.92 * care:
                    add(account, "SEM", rng.choice(seminars))
                if (
                    account["boi"]
                    and account["opened_on"]
                    and account["opened_on"].year >= year - 1
                ):
                    for _ in range(rng.randint(1, 3)):
                        add(account, "BOI", self._day_between(start, date(year, 12, 31)))
            self._executive_visits(year, add, diligence, home)
            tiered_accounts = [
                a for a in self.units if a["history"][-1][0] not in (None, "STREAMLINE")
            ]
            for month in range(1, 13):
                for _ in range(rng.randint(6, 14)):
                    day = self._day_between(date(year, month, 1), date(year, month, 28))
                    add(rng.choice(tiered_accounts), "PLN", day)
        planned.sort(
            key=lambda a: (a["day"], a["account"]["account_no"], a["type"], a["performer"])
        )
        rows, follow_ups = [], []
        summaries, voices = self.data["summaries"], self.data["voices"]
        for number, item in enumerate(planned, start=1):
            account, kind, day = item["account"], item["type"], item["day"]
            care = diligence[home(account)]
            status = (
                "planned" if day > self.today else ("cancelled" if rng.random() < 0.03 else "done")
            )
            recorded_at = self._recorded_at(day, status, late_share=0.06 if care > 0.85 else 0.22)
            row = {
                "account_id": account["id"],
                "type": kind,
                "activity_date": day,
                "status": status,
                "channel": rng.choice(CHANNELS_BY_TYPE[kind]),
                "performed_by_id": self.user_ids[item["performer"]],
                "exec_role": item["exec_role"],
                "summary": rng.choice(summaries[kind]),
                "voc_kind": None,
                "voc_category": None,
                "voc_text": None,
                "ref": f"DEMO-{number:06d}",
                "recorded_at": recorded_at,
                "recorded_by_id": self.user_ids[item["performer"]],
                "is_late": is_late_entry(day, recorded_at),
                "version": 1,
                "created_at": self.now,
                "updated_at": self.now,
            }
            if status == "done" and kind in ("FMS", "RBA", "COM", "EXV") and rng.random() < 0.12:
                voc_kind = rng.choices(("feedback", "complaint", "request"), (3, 4, 4))[0]
                row["voc_kind"] = voc_kind
                row["voc_category"], row["voc_text"] = rng.choice(voices[voc_kind])
            if status == "done" and (
                row["voc_kind"] in ("complaint", "request") or rng.random() < 0.04
            ):
                due = day + timedelta(days=rng.randint(7, 30))
                done_on = None
                if due <= self.today and rng.random() < 0.8:
                    done_on = min(self.today, max(day, due - timedelta(days=rng.randint(0, 6))))
                follow_ups.append(
                    {
                        "ref": row["ref"],
                        "action": rng.choice(FOLLOW_UP_ACTIONS),
                        "due_on": due,
                        "done_on": done_on,
                        "assignee_id": row["performed_by_id"],
                        "created_at": self.now,
                        "updated_at": self.now,
                    }
                )
            rows.append(row)
        insert_rows(Activity.__table__, rows)
        ids = self._ids(Activity.ref, Activity.id)
        for follow_up in follow_ups:
            follow_up["activity_id"] = ids[follow_up.pop("ref")]
        if follow_ups:
            insert_rows(FollowUp.__table__, follow_ups)
        late = sum(1 for row in rows if row["is_late"])
        self.result.counts.update(activities=len(rows), follow_ups=len(follow_ups))
        last = max((row["activity_date"] for row in rows), default=self.today)
        self.say(
            f"activities: {len(rows):,} from {self.last_year}-01-01 to {last} ({late:,} entered late, "
            f"{sum(1 for row in rows if row['status'] == 'planned'):,} planned), {len(follow_ups):,} follow-ups",
            "activities",
        )

    def complaints(self) -> None:
        """A year and a bit of complaints (SPEC section 8): every office gets some, the offices
        behind close theirs slowly, a few urgent chat complaints, some excluded."""
        # A generator of its own: the rows above stay exactly what they were.
        rng = random.Random(SEED + 8)
        offices = {o["code"]: o for o in self.data["offices"]}
        behind = {code for code, o in offices.items() if o.get("behind")}
        parent = {b["code"]: o["code"] for o in self.data["offices"] for b in o["branches"]}
        units = [o["code"] for o in self.data["offices"]] + list(parent)
        accounts_of: dict[str, list[dict]] = {}
        for account in self.units:
            accounts_of.setdefault(account["office"], []).append(account)
        categories = [code for code, _ in DEFAULT_CATEGORIES]
        limits = dict(DEFAULT_CATEGORIES)
        weights = (14, 18, 30, 10, 16, 12)
        rows = []
        day = date(self.last_year, 1, 1)
        while day <= self.today:
            for unit in units:
                home = parent.get(unit, unit)
                if rng.random() > (0.22 if unit not in parent else 0.08):
                    continue
                slow = home in behind
                urgent = rng.random() < 0.05
                channel = (
                    "chat"
                    if urgent and rng.random() < 0.7
                    else rng.choice(
                        (
                            "phone",
                            "call_centre",
                            "walk_in",
                            "letter",
                            "email",
                            "line",
                            "chat",
                            "web",
                        )
                    )
                )
                received_at = datetime.combine(
                    day, time(rng.randint(7, 21), rng.randrange(60)), BANGKOK
                )
                if received_at > self.now:
                    continue
                category = rng.choices(categories, weights)[0]
                account = None
                if accounts_of.get(unit) and rng.random() < 0.3:
                    account = rng.choice(accounts_of[unit])
                assignee = account["kamr"] if account is not None else rng.choice(self.kamrs[unit])
                if urgent:
                    taken = timedelta(hours=rng.uniform(1, 40 if slow else 26))
                else:
                    within = rng.random() < (0.6 if slow else 0.9)
                    days = (
                        rng.randint(0, limits[category])
                        if within
                        else rng.randint(limits[category] + 1, limits[category] + 25)
                    )
                    taken = timedelta(days=days, hours=rng.randint(0, 8))
                closed_at = received_at + taken
                if closed_at > self.now or rng.random() < 0.01:
                    closed_at = None
                excluded = rng.choices(
                    (None, "misconduct", "duplicate", "withdrawn"), (95, 2, 2, 1)
                )[0]
                rows.append(
                    {
                        "ref": f"CMP-{day.year}-{len(rows) + 1:05d}",
                        "office_id": self.office_ids[unit],
                        "account_id": account["id"] if account is not None else None,
                        "category": category,
                        "channel": channel,
                        "urgent": urgent,
                        "received_at": received_at,
                        "received_on": received_at.date(),
                        "closed_at": closed_at,
                        "days_to_close": None
                        if closed_at is None
                        else days_between(received_at, closed_at),
                        "micros_to_close": None
                        if closed_at is None
                        else micros_between(received_at, closed_at),
                        "excluded": excluded,
                        "summary": None,
                        "resolution": None if closed_at is None else "แก้ไขแล้ว แจ้งผลลูกค้าทางโทรศัพท์",
                        "assigned_to_id": self.user_ids[assignee],
                        "recorded_by_id": self.user_ids[assignee],
                        "version": 1,
                        "created_at": self.now,
                        "updated_at": self.now,
                    }
                )
            day += timedelta(days=1)
        insert_rows(Complaint.__table__, rows)
        self.result.counts["complaints"] = len(rows)
        self.say(
            f"complaints: {len(rows):,} ({sum(1 for r in rows if r['closed_at'] is None):,} open, "
            f"{sum(1 for r in rows if r['urgent']):,} urgent, {sum(1 for r in rows if r['excluded']):,} excluded)",
            "complaints",
        )

    def voc_marks(self) -> None:
        """The VOC register's marks (SPEC section 9): about a third of the voices heard are
        significant, most of those entered in PEA's VOC system within two weeks (the offices
        behind enter fewer, later); a few complaints are significant too."""
        rng = random.Random(SEED + 9)
        behind = {o["code"] for o in self.data["offices"] if o.get("behind")}
        behind |= {
            b["code"] for o in self.data["offices"] if o.get("behind") for b in o["branches"]
        }
        voices = db.session.execute(
            sa.select(Activity.id, Activity.activity_date, Office.code)
            .join(Account, Account.id == Activity.account_id)
            .join(Office, Office.id == Account.office_id)
            .where(Activity.voc_kind.is_not(None), Activity.status == "done")
            .order_by(Activity.id)
        ).all()
        complaints = db.session.execute(
            sa.select(Complaint.id, Complaint.received_on, Office.code)
            .join(Office, Office.id == Complaint.office_id)
            .order_by(Complaint.id)
        ).all()
        rows = []
        for source, found, share in (("activity", voices, 0.35), ("complaint", complaints, 0.03)):
            for source_id, day, office in found:
                if rng.random() > share:
                    continue
                slow = office in behind
                row = {
                    "source": source,
                    "source_id": source_id,
                    "significant": True,
                    "significant_by_id": None,
                    "significant_at": self.now,
                    "voc_ref": None,
                    "voc_ref_on": None,
                    "complaint_id": None,
                    "created_at": self.now,
                    "updated_at": self.now,
                }
                if rng.random() < (0.5 if slow else 0.85):
                    entered = min(
                        day + timedelta(days=rng.randint(1, 25 if slow else 12)), self.today
                    )
                    row["voc_ref"], row["voc_ref_on"] = (
                        f"VOC{entered.year + 543}-{len(rows) + 1:06d}",
                        entered,
                    )
                rows.append(row)
        insert_rows(VocMark.__table__, rows)
        self.result.counts["voc_significant"] = len(rows)
        self.say(
            f"significant customer voices: {len(rows):,} "
            f"({sum(1 for r in rows if r['voc_ref']):,} entered in PEA's VOC system)",
            "voc",
        )

    def surveys(self) -> None:
        """Service jobs with their SMS and phone answers, and Smile Box days (SPEC section 9),
        from Jan 1 of last year to today. The offices behind phone fewer customers (so they
        miss quotas) and their Smile Boxes are used less; a few low scores stay unfollowed."""
        rng = random.Random(SEED + 9)
        offices = {o["code"]: o for o in self.data["offices"]}
        behind = {code for code, o in offices.items() if o.get("behind")}
        parent = {b["code"]: o["code"] for o in self.data["offices"] for b in o["branches"]}
        units = [o["code"] for o in self.data["offices"]] + list(parent)
        kinds, weights = (
            ("meter_install", "extension", "dedicated_transformer", "maintenance"),
            (55, 25, 5, 15),
        )
        jobs, answers, boxes = [], [], []
        stamp = {"created_at": self.now, "updated_at": self.now}
        day = date(self.last_year, 1, 1)
        while day <= self.today:
            working = day.weekday() < 5
            for unit in units:
                home = parent.get(unit, unit)
                slow = home in behind
                for _ in range(rng.choice((0, 0, 1, 1, 2)) if working else 0):
                    kind = rng.choices(kinds, weights)[0]
                    ref = f"SJ-{day.year}-{len(jobs) + 1:06d}"
                    jobs.append(
                        {
                            "ref": ref,
                            "office_id": self.office_ids[unit],
                            "kind": kind,
                            "account_no": None,
                            "account_id": None,
                            "customer_name": f"ลูกค้า {len(jobs) + 1}",
                            "phone": f"08{rng.randrange(10**8):08d}",
                            "completed_on": day,
                            **stamp,
                        }
                    )
                    score = rng.choices(
                        (5, 4, 3, 2, 1), (50, 35, 10, 3, 2) if slow else (64, 28, 5, 2, 1)
                    )
                    if rng.random() < 0.45:
                        answered = day + timedelta(days=rng.randint(0, 3))
                        if answered <= self.today:
                            answers.append((ref, "sms", answered, score[0]))
                    elif rng.random() < (0.25 if slow else 0.6):
                        answered = day + timedelta(
                            days=rng.randint(1, 18)
                        )  # a few after the window
                        if answered <= self.today:
                            answers.append((ref, "phone", answered, score[0]))
                if working and unit not in parent or (working and rng.random() < 0.5):
                    served = rng.randint(20, 80)
                    rated = int(
                        served * rng.uniform(0.45, 0.75)
                        if slow
                        else served * rng.uniform(0.65, 0.95)
                    )
                    low1, low2 = (
                        rng.randint(0, max(0, rated // 30)),
                        rng.randint(0, max(0, rated // 15)),
                    )
                    low1, low2 = min(low1, rated), min(low2, rated - min(low1, rated))
                    followed = low1 + low2 if not slow else rng.randint(0, low1 + low2)
                    boxes.append(
                        {
                            "office_id": self.office_ids[unit],
                            "day": day,
                            "served": served,
                            "score_1": low1,
                            "score_2": low2,
                            "score_3": rated - low1 - low2,
                            "followed_up": followed,
                            **stamp,
                        }
                    )
            day += timedelta(days=1)
        insert_rows(ServiceJob.__table__, jobs)
        ids = dict(db.session.execute(sa.select(ServiceJob.ref, ServiceJob.id)).all())
        rows = []
        for ref, channel, answered, score in answers:
            low = score <= 2
            followed = (
                answered + timedelta(days=rng.randint(1, 12))
                if low and rng.random() < 0.8
                else None
            )
            rows.append(
                {
                    "job_id": ids[ref],
                    "channel": channel,
                    "answered_on": answered,
                    "score": score,
                    "comment": "ขอให้ปรับปรุงความรวดเร็ว" if low else None,
                    "surveyed_by": None,
                    "recorded_by_id": None,
                    "followed_up_on": followed if followed and followed <= self.today else None,
                    "follow_up_note": None,
                    **stamp,
                }
            )
        insert_rows(SurveyAnswer.__table__, rows)
        insert_rows(SmileBoxDay.__table__, boxes)
        self.result.counts["service_jobs"] = len(jobs)
        self.result.counts["survey_answers"] = len(rows)
        self.result.counts["smile_box_days"] = len(boxes)
        self.say(
            f"service jobs: {len(jobs):,} ({sum(1 for r in rows if r['channel'] == 'sms'):,} SMS and "
            f"{sum(1 for r in rows if r['channel'] == 'phone'):,} phone answers), Smile Box days: {len(boxes):,}",
            "surveys",
        )

    def prevention_plans(self) -> None:
        """Complaint-prevention plans (CR2 plan 2.2) of last year and this one: every class
        1-3 office but the last listed keeps one; most quarter reports come in within the 10
        days, the offices behind send some late or not at all."""
        rng = random.Random(SEED + 9)  # a generator of its own, as for the complaints
        offices = self.data["offices"]
        without = offices[-1]["code"]
        plans, reports = [], []
        stamp = {"created_at": self.now, "updated_at": self.now}
        for year in (self.last_year, self.today.year):
            for office in offices:
                if office["code"] == without:
                    continue
                submitted = date(year, 1, 1) + timedelta(days=rng.randint(-20, 40))
                if submitted > self.today:
                    continue
                manager = self.user_ids[self.manager_of[office["code"]]]
                plans.append(
                    {
                        "office_id": self.office_ids[office["code"]],
                        "year": year,
                        "title": f"แผนป้องกันการเกิดข้อร้องเรียน ปี {year + 543} {office['name']}",
                        "summary": "ตรวจสอบระบบจำหน่ายก่อนฤดูฝน ซ้อมแผนตอบข้อร้องเรียนทาง LINE และ Call Center",
                        "submitted_on": submitted,
                        "submitted_by_id": manager,
                        "version": 1,
                        **stamp,
                    }
                )
                for quarter in (1, 2, 3, 4):
                    end = quarter_window(year, quarter).end
                    behind = office.get("behind")
                    late = rng.random() < (0.4 if behind else 0.1)
                    if behind and rng.random() < 0.15:
                        continue  # never sent
                    day = end + timedelta(
                        days=rng.randint(REPORT_DAYS + 1, REPORT_DAYS + 20)
                        if late
                        else rng.randint(2, REPORT_DAYS)
                    )
                    if day > self.today:
                        continue
                    reports.append(
                        {
                            "key": (office["code"], year),
                            "quarter": quarter,
                            "submitted_on": day,
                            "text": f"ผลการดำเนินงานตามแผนไตรมาส {quarter}/{year + 543}: "
                            "ตรวจแนวสายและหม้อแปลงตามแผน แจ้งลูกค้าล่วงหน้าก่อนดับไฟ",
                            "submitted_by_id": manager,
                        }
                    )
        if plans:
            insert_rows(PreventionPlan.__table__, plans)
        plan_ids = {
            (office, year): plan_id
            for office, year, plan_id in db.session.execute(
                sa.select(Office.code, PreventionPlan.year, PreventionPlan.id).join(
                    Office, Office.id == PreventionPlan.office_id
                )
            )
        }
        if reports:
            insert_rows(
                PreventionReport.__table__,
                [{"plan_id": plan_ids[r.pop("key")], **r, **stamp} for r in reports],
            )
        self.result.counts["prevention_plans"] = len(plans)
        self.result.counts["prevention_reports"] = len(reports)
        self.say(
            f"complaint-prevention plans: {len(plans)}, quarter reports: {len(reports)} "
            f"(office {without} keeps none)",
            "prevention",
        )

    def consumption(self) -> None:
        """Three years of monthly consumption (SPEC section 10) for the tiered accounts, so that
        this year's prospect lists each hold a realistic handful: energy from the transformer's
        size and a load factor, a yearly growth around 3 %, a peak demand mostly well below the
        transformer; some accounts bill kW only, a few miss a month. The year's lists are then
        generated once (version 1)."""
        from kamcrm.prospects.models import Consumption
        from kamcrm.prospects.operations import generate_snapshot

        rng = random.Random(SEED + 10)
        plan_year = self.today.year
        rows = []
        for account in self.units:
            if account["tier"] in (None, "STREAMLINE") or account["closed_on"] is not None:
                continue
            kva = float(account["transformer_kva"])
            load_factor = rng.uniform(0.3, 0.6)
            utilisation = rng.uniform(0.2, 0.62)
            growth = rng.gauss(0.03, 0.05)
            kw_only = rng.random() < 0.3
            missing = rng.randrange(24) if rng.random() < 0.03 else None
            for index in range(36):
                year, month = plan_year - 3 + index // 12, index % 12 + 1
                if missing is not None and index - 12 == missing:
                    continue
                scale = (1 + growth) ** (index // 12) * rng.uniform(0.95, 1.05)
                peak = kva * utilisation * scale
                rows.append(
                    {
                        "account_id": account["id"],
                        "month": date(year, month, 1),
                        "kwh": Decimal(kva * 0.85 * load_factor * 730 * scale).quantize(
                            Decimal("0.01")
                        ),
                        "peak_kw": Decimal(peak * 0.85).quantize(Decimal("0.01"))
                        if kw_only
                        else None,
                        "peak_kva": None if kw_only else Decimal(peak).quantize(Decimal("0.01")),
                        "revenue_thb": Decimal(
                            kva * 0.85 * load_factor * 730 * scale * 4.2
                        ).quantize(Decimal("0.01")),
                    }
                )
        insert_rows(Consumption.__table__, rows)
        snapshot = generate_snapshot(plan_year, now=self.now)
        self.result.counts["consumption_months"] = len(rows)
        self.say(
            f"consumption: {len(rows):,} months; prospect lists {plan_year} version {snapshot.version}",
            "consumption",
        )

    def _executive_visits(self, year, add, diligence, home) -> None:
        rng = self.rng
        key_accounts = [a for a in self.units if a["history"][-1][0] in ("STRATEGIC", "STAR")]
        by_office: dict[str, list[dict]] = {}
        for account in self.units:
            if account["history"][-1][0] is not None:
                by_office.setdefault(home(account), []).append(account)
        for quarter in (1, 2, 3, 4):
            window = quarter_window(year, quarter)
            for account in rng.sample(key_accounts, rng.choice((1, 2, 2))):
                add(
                    account,
                    "EXV",
                    self._day_between(window.start, window.end),
                    "director",
                    "region_director",
                )
            for n in (1, 2, 3):
                for account in rng.sample(
                    key_accounts, rng.choice((3, 3, 4, 4, 5)) if n != 3 else rng.choice((2, 3, 4))
                ):
                    add(
                        account,
                        "EXV",
                        self._day_between(window.start, window.end),
                        f"asst{n}",
                        "assistant_director",
                    )
            for code, manager in self.manager_of.items():
                pool = sorted(
                    by_office.get(code, []),
                    key=lambda a: ("STRATEGIC", "STAR", "STATUS", "STREAMLINE").index(
                        a["history"][-1][0]
                    ),
                )
                wanted = rng.randint(6, 8) if diligence[code] > 0.85 else rng.randint(3, 6)
                chosen = rng.sample(pool[: max(wanted, min(len(pool), 25))], min(wanted, len(pool)))
                for account in chosen:
                    add(
                        account,
                        "EXV",
                        self._day_between(window.start, window.end),
                        manager,
                        "office_manager",
                    )

    def passwords(self) -> None:
        """Give the users of each role one random password, remembered for ``users demo-logins``.

        One argon2id hash per role rather than per user: each hash costs 64 MiB and a tenth of
        a second on purpose, and any of the demo's users can still sign in.
        """
        from kamcrm.org.passwords import hash_password

        roles = sorted({row["role"] for row in self.users_rows})
        self.say(f"passwords: one random password for each of the {len(roles)} roles", "passwords")
        chosen = {role: secrets.token_urlsafe(9) for role in roles}
        hashes = {role: hash_password(password) for role, password in chosen.items()}
        codes = {office_id: code for code, office_id in self.office_ids.items()}
        updates = []
        for row in self.users_rows:
            updates.append(
                {
                    "v_id": self.user_ids[row["username"]],
                    "v_hash": hashes[row["role"]],
                    "v_now": self.now,
                }
            )
            self.result.logins.append(
                (
                    row["username"],
                    row["role"],
                    row["exec_role"],
                    codes[row["office_id"]],
                    chosen[row["role"]],
                )
            )
        table = User.__table__
        db.session.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("v_id"))
            .values(
                password_hash=sa.bindparam("v_hash"), password_changed_at=sa.bindparam("v_now")
            ),
            updates,
            execution_options={"synchronize_session": False},
        )

    def close_quarters(self) -> None:
        """Close the quarters whose close date has come, as the CLI operator would."""
        from kamcrm.reports.closing import close_quarter

        due = [
            (year, quarter)
            for year in (self.last_year, self.today.year)
            for quarter in (1, 2, 3, 4)
            if quarter_close_date(year, quarter) <= self.today
        ]
        before, after = STEP_SHARES["passwords"], STEP_SHARES["quarters"]
        for done, (year, quarter) in enumerate(due, start=1):
            close_quarter(year, quarter, None, now=self.now)
            self.progress(None, before + (after - before) * done / len(due))
        self.result.counts["quarter_closes"] = len(due)
        if due:
            self.say(
                f"quarters: closed {', '.join(f'{y}-Q{q}' for y, q in due)} with their CR2 snapshots",
                "quarters",
            )

    def keep_monthly_summaries(self) -> None:
        """Keep the 'as reported' monthly summaries of this year's months whose recording
        deadline has passed, as the scheduler's monthly job would have done."""
        from kamcrm.periods import recording_deadline
        from kamcrm.reports.monthly import keep_reported_summaries

        months = [
            month
            for month in range(1, 13)
            if recording_deadline(date(self.today.year, month, 1)) < self.today
        ]
        for month in months:
            keep_reported_summaries(self.today.year, month, self.now)
        self.result.counts["monthly_summaries"] = len(months)
        returns = self.keep_complaint_returns()
        if months:
            self.say(
                f"monthly summaries: kept as reported for {len(months)} months of {self.today.year}"
                f" (complaint returns: {returns})",
                "monthly",
            )

    def keep_complaint_returns(self) -> int:
        """Keep the 'as reported' complaint returns (SPEC section 8) of this year's months whose
        due day has passed, offices' and region's, as the two scheduled jobs would have done.
        Returns how many months' returns were kept for the offices."""
        from kamcrm.reports.complaint_return import due_on, keep_reported_returns

        year = self.today.year
        kept = 0
        for month in range(1, 13):
            for region in (False, True):
                if due_on(year, month, region=region) < self.today:
                    keep_reported_returns(year, month, self.now, region=region)
                    kept += not region
        self.result.counts["complaint_return_months"] = kept
        return kept

    # --- helpers -----------------------------------------------------------------------------

    def _account(self, tier: str, unit: str, industrial: bool = False) -> dict:
        rng = self.rng
        office = self.parent.get(unit, unit)
        data = next((o for o in self.data["offices"] if o["code"] == office), None)
        sectors = data["sectors"] if data else ["petrochemical", "steel and metal"]
        if industrial:
            sectors = [s for s in sectors if s not in NON_INDUSTRIAL] or ["food processing"]
        sector = rng.choices(sectors, [len(sectors) - i + 1 for i in range(len(sectors))])[0]
        estates = data["estates"] if data else []
        estate = (
            rng.choice(estates)
            if estates and sector not in NON_INDUSTRIAL and rng.random() < 0.65
            else None
        )
        transformers = {
            "STRATEGIC": (6, 30),
            "STAR": (3, 8),
            "STATUS": (1, 4),
            "STREAMLINE": (1, 1),
        }[tier]
        sizes = STANDARD_KVA[6:] if tier != "STREAMLINE" else STANDARD_KVA[:8]
        kva = sum(rng.choice(sizes) for _ in range(rng.randint(*transformers)))
        revenue = Decimal(kva * rng.uniform(900, 2300)).quantize(Decimal("0.01"))
        opened = date(
            rng.randint(1992, self.last_year - (3 if tier != "STREAMLINE" else 1)),
            rng.randint(1, 12),
            rng.randint(1, 28),
        )
        kamrs = self.kamrs.get(unit) or self.kamrs[office]
        noun = self.rng.choice(self.data["names"]["sectors"].get(sector, ["อินดัสตรี้"]))
        prefix = self.rng.choice(self.data["names"]["prefixes"])
        if sector == "hospital" and noun == "โรงพยาบาล":
            name = f"โรงพยาบาล{prefix}"
        else:
            suffix = " จำกัด (มหาชน)" if tier == "STRATEGIC" and rng.random() < 0.3 else " จำกัด"
            year = f" ({rng.randint(1985, 2015)})" if rng.random() < 0.15 else ""
            name = f"บริษัท {prefix}{noun}{year}{suffix}"
        notes = None
        if kva >= 20000:
            notes = "รับไฟฟ้าแรงสูง 115 kV ผ่านสถานีไฟฟ้าย่อยของลูกค้า"
        elif estate and rng.random() < 0.2:
            notes = f"ตั้งอยู่ใน{estate}"
        kamr = rng.choice(kamrs)
        return {
            "tier": tier,
            "office": unit,
            "name": name,
            "kamr": kamr,
            "kamr_id": self.user_ids[kamr],
            "sector": sector,
            "industrial_estate": estate,
            "transformer_kva": Decimal(kva),
            "monthly_revenue_thb": revenue,
            "boi": sector not in NON_INDUSTRIAL and rng.random() < 0.35,
            "spp_area": rng.random() < (0.2 if estate else 0.03),
            "opened_on": opened,
            "closed_on": None,
            "notes": notes,
            "history": [(tier, opened)],
        }

    def _contact(self, account: dict) -> dict:
        rng = self.rng
        (first_th, first_en), (last_th, last_en) = (
            rng.choice(self.data["people"]["first"]),
            rng.choice(self.data["people"]["last"]),
        )
        office = self.parent.get(account["office"], account["office"])
        area = next((o["phone"] for o in self.data["offices"] if o["code"] == office), "038")
        return {
            "account_id": account["id"],
            "name": f"คุณ{first_th} {last_th}",
            "position": rng.choice(self.data["people"]["positions"]),
            "phone": rng.choice(
                (
                    f"{area}-{rng.randint(100, 999)}-{rng.randint(100, 999)}",
                    f"08{rng.randint(1, 9)}-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
                )
            ),
            "email": f"{first_en.lower()}.{last_en[:1].lower()}@example.co.th",
            "line_id": f"{first_en.lower()}{rng.randint(10, 99)}" if rng.random() < 0.6 else None,
            "created_at": self.now,
            "updated_at": self.now,
        }

    def _recorded_at(self, day: date, status: str, late_share: float) -> datetime:
        rng = self.rng
        if status == "planned":
            entered = day - timedelta(days=rng.randint(3, 30))
        elif rng.random() < late_share:
            entered = recording_deadline(day) + timedelta(days=rng.randint(1, 20))
        else:
            entered = day + timedelta(days=rng.choice((0, 0, 0, 1, 1, 2, 3)))
        moment = datetime.combine(entered, time(rng.randint(8, 18), rng.randint(0, 59)), BANGKOK)
        return min(moment.astimezone(timezone.utc), self.now)

    def _day_between(self, first: date, last: date) -> date:
        if last < first:
            return first
        return first + timedelta(days=self.rng.randint(0, (last - first).days))

    @staticmethod
    def _tier_on(account: dict, day: date) -> str | None:
        tier = None
        for assigned, effective_from in account["history"]:
            if effective_from <= day:
                tier = assigned
        return tier

    @staticmethod
    def _active(account: dict, day: date) -> bool:
        return (account["opened_on"] is None or account["opened_on"] <= day) and (
            account["closed_on"] is None or account["closed_on"] > day
        )

    def _office_number(self, code: str) -> int:
        codes = (
            [self.data["region"]["code"]]
            + [o["code"] for o in self.data["offices"]]
            + [b["code"] for o in self.data["offices"] for b in o["branches"]]
        )
        return codes.index(code) + 1

    @staticmethod
    def _ids(key_column, id_column) -> dict:
        return dict(db.session.execute(sa.select(key_column, id_column)).all())
