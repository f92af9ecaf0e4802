"""The longest text each field takes, in characters: one definition for every entry point.

The operations enforce them (through ``kamcrm.fields.text``), so a page, the API,
an import and the CLI refuse the same value with the same message; the page forms' own
``Length`` and the OpenAPI document's ``maxLength`` are read from here, so they agree.
The README's "Text limits" table lists them.
"""

from __future__ import annotations

# Keys and names: the columns' own widths.
ACCOUNT_NO = 30
ACCOUNT_NAME = 300
OFFICE_CODE = 20
OFFICE_NAME = 200
USERNAME = 80
PERSON_NAME = 200  # a user's full name, a contact's name and position
SECTOR = 120
INDUSTRIAL_ESTATE = 200
PHONE = 50
LINE_ID = 100
EMAIL = 254  # RFC 5321's longest forward path
ACTIVITY_REF = 100
VOC_CATEGORY = 100
TARGET_ITEM = 10
TOKEN_NAME = 100

# Free text kept in TEXT columns: no database width, so a bound of our own. A page of
# notes is about 4,000 characters; nobody writes more in a visit report, and an unbounded
# summary once made one account's page weigh 76 MB.
SUMMARY = 4000
VOC_TEXT = 4000
ACCOUNT_NOTES = 4000
FOLLOW_UP_ACTION = 1000
REASON = 1000  # why a closed quarter's activity changes, why an import is run

#: The highest page number a list answers: no list is that long, and a page beyond it would
#: overflow the database's OFFSET (SQLite's integers end at 2**63).
MAX_PAGE = 1_000_000

# Complaints (SPEC section 8).
COMPLAINT_REF = 100
COMPLAINT_SUMMARY = 4000
COMPLAINT_RESOLUTION = 4000

# Complaint prevention (SPEC section 8, plan 2.2).
PREVENTION_TITLE = 200
PREVENTION_TEXT = 4000
