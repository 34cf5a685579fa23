"""Column names of the report tables: one place, because the CSV, the workbook and the e-mail all show them.

Milestone columns carry the milestone's configured name (DESIGN §6: "one 0/1 column per milestone
named exactly as the milestone"), so most names are functions of the milestone.
"""

from __future__ import annotations

# Cohorts table
COHORT = "cohort"  # label "12.09–18.09.2022"
COHORT_WEEK = "cohort_week"  # the Monday, a date
PARTIAL = "partial"  # True for the week containing the as-of moment
LEADS = "leads"
DELTA = "Δ vs prev"
OPEN, WON, LOST = "open", "won", "lost"
REVENUE = "revenue"
AVG_CHECK = "avg check"
MEDIAN_DAYS_TO_FINAL = "median days to final"
TOP_LOSS_REASONS = "top loss reasons"

# Leads table (per-lead facts, the Excel Table "Leads")
LEAD_ID = "lead_id"
LEAD = "lead"  # 1 on every row: SUM(lead) counts leads, so a pivot's calculated field can divide by it
CREATED_AT = "created_at"
PIPELINE = "pipeline"  # at creation: decides the cohort
STATUS = "status"  # as of the report moment
STATUS_PIPELINE = "status pipeline"  # pipeline of that status (differs after a pipeline move)
MANAGER = "manager"
LOST_FROM_STAGE = "lost from stage"
LOSS_REASON = "loss reason"
PRICE = "price"
DAYS_TO_FINAL = "days to final"
COST = "cost"  # the lead's share of its creation day × source spend (when spend is known)

# Cohorts forecast columns (cohorts/forecast.py, cohorts/outlook.py)
MATURE = "mature"  # the cohort's youngest lead is older than the mature age: its counts are final
REVENUE_FORECAST = "revenue forecast"

# Cohorts money columns (when spend is known: cohorts/money.py)
SPEND, CPL, CAC, ROMI = "spend", "CPL", "CAC", "ROMI"
CAC_FORECAST = "CAC forecast"


def step_pct(milestone: str) -> str:
    """Share of the previous step (of ``leads`` for the first milestone)."""
    return f"{milestone} %"


def of_leads_pct(milestone: str) -> str:
    return f"{milestone} % of leads"


def lead_to_final(final: str) -> str:
    return f"lead→{final} %"


def equal_age(days: int) -> str:
    """Reached the final milestone within ``days`` of creation, as a share of the cohort."""
    return f"≤{days}d %"


def delta_at(days: int) -> str:
    """Relative change of the equal-age share against the week before: both weeks at the same age."""
    return f"Δ at {days}d"


def reached_at(milestone: str) -> str:
    return f"{milestone} at"


def cost_per(milestone: str) -> str:
    return f"cost per {milestone}"


def maturation_week(week: int) -> str:
    return f"week {week}"


def timing(milestone: str, stat: str) -> str:
    """``stat`` is one of median, p75, p90: days from creation to reaching the milestone."""
    return f"{milestone} {stat} days"


def forecast(milestone: str) -> str:
    """Expected count of the cohort at ``milestone`` when mature."""
    return f"{milestone} forecast"


def forecast_low(milestone: str) -> str:
    """Lower end of the forecast's 80 % interval."""
    return f"{milestone} forecast low"


def forecast_high(milestone: str) -> str:
    return f"{milestone} forecast high"


def share_forecast(final: str) -> str:
    return f"lead→{final} % forecast"
