"""A year's survey quotas and targets: SPEC section 9's defaults, or the year's stored row."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from kamcrm.extensions import db
from kamcrm.surveys.models import QUOTA_KINDS, SurveyTarget

#: SPEC section 9: phone answers within the window per class 1-3 office and quarter.
DEFAULT_QUOTAS = {"meter_install": 3, "extension": 3, "dedicated_transformer": 1}
#: Mean satisfaction (rounded half up to 4 decimals) must be at least this.
DEFAULT_SATISFACTION = Decimal("4.4718")
#: Smile Box ratings ÷ served, per cent.
DEFAULT_SMILE_BOX_SHARE = Decimal("70")


@dataclass(frozen=True)
class SurveyTargets:
    """What a year's surveys are measured against."""

    year: int
    quotas: dict
    satisfaction: Decimal
    smile_box_share_pct: Decimal
    stored: bool = False

    def as_dict(self) -> dict:
        """Return the targets as JSON-safe data."""
        return {
            "year": self.year,
            "stored": self.stored,
            "quotas": {kind: self.quotas[kind] for kind in QUOTA_KINDS},
            "satisfaction_target": float(self.satisfaction),
            "smile_box_share_pct": float(self.smile_box_share_pct),
        }


def default_survey_targets(year: int) -> SurveyTargets:
    """Return the SPEC section 9 defaults for ``year``."""
    return SurveyTargets(year, dict(DEFAULT_QUOTAS), DEFAULT_SATISFACTION, DEFAULT_SMILE_BOX_SHARE)


def survey_targets(year: int) -> SurveyTargets:
    """Return the survey targets of ``year``: its stored row, or the defaults."""
    row = db.session.execute(
        sa.select(SurveyTarget).where(SurveyTarget.year == year)
    ).scalar_one_or_none()
    if row is None:
        return default_survey_targets(year)
    return SurveyTargets(
        year,
        {
            "meter_install": row.quota_meter_install,
            "extension": row.quota_extension,
            "dedicated_transformer": row.quota_dedicated_transformer,
        },
        Decimal(row.satisfaction_target).quantize(Decimal("0.0001")),
        Decimal(row.smile_box_share_pct).quantize(Decimal("0.01")),
        stored=True,
    )
