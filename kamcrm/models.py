"""Import every model so that metadata (and Alembic) sees the whole schema."""

from kamcrm.accounts.models import Account, ContactPerson, TierAssignment  # noqa: F401
from kamcrm.activities.models import Activity, FollowUp  # noqa: F401
from kamcrm.audit.models import AuditEntry  # noqa: F401
from kamcrm.complaints.models import (  # noqa: F401
    Complaint,
    ComplaintCategory,
    ComplaintItemTarget,
    ComplaintTierLimit,
)
from kamcrm.compliance.models import (  # noqa: F401
    ExecutiveVisitQuota,
    FrequencyRule,
    PlannedPopulation,
)
from kamcrm.imports.models import ImportRun  # noqa: F401
from kamcrm.jobs.models import JobRun, Notification  # noqa: F401
from kamcrm.org.models import ApiToken, Office, User, UserSession  # noqa: F401
from kamcrm.prevention.models import PreventionPlan, PreventionReport  # noqa: F401
from kamcrm.prospects.models import (  # noqa: F401
    Consumption,
    ProspectMember,
    ProspectSettings,
    ProspectSnapshot,
)
from kamcrm.quarters.models import QuarterClose  # noqa: F401
from kamcrm.reports.models import ComplaintReturn, MonthlySummary  # noqa: F401
from kamcrm.surveys.models import ServiceJob, SmileBoxDay, SurveyAnswer, SurveyTarget  # noqa: F401
from kamcrm.voc.models import VocMark  # noqa: F401
