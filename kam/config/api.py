"""The /api/v1 instance: every app's router mounted in one place."""

from __future__ import annotations

from ninja import NinjaAPI
from ninja.renderers import JSONRenderer

from kam.accounts.api import router as accounts_router
from kam.accounts.api_grading import router as account_grading_router
from kam.accounts.api_profile import router as account_profile_router
from kam.accounts.models import AccountMember
from kam.accounts.selectors import account_get_for_user
from kam.competition.account_api import router as account_competition_router
from kam.competition.api import opportunity_router as competition_router
from kam.competition.api import router as competitors_router
from kam.contacts.api import router as contacts_router
from kam.core.api_support import BearerAuth, SessionAuth, install_error_handlers
from kam.core.sharing_api import members_router
from kam.intel.api import router as intel_router
from kam.opportunities.api import router as opportunities_router
from kam.opportunities.api_pipeline import router as pipeline_router
from kam.opportunities.api_process import router as process_router
from kam.opportunities.api_risks import router as risks_router
from kam.opportunities.models import OpportunityMember
from kam.opportunities.selectors import opportunity_get_for_user
from kam.partners.api import opportunity_router as payments_router
from kam.partners.api import router as partners_router
from kam.segments.api import router as segments_router
from kam.stakeholders.api import router as stakeholders_router


class ReadableJSONRenderer(JSONRenderer):
    """UTF-8 JSON with Chinese written as itself, not as \\u escapes."""

    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    renderer=ReadableJSONRenderer(),
    title="KAM API",
    version="1",
    description="Key-account sales management. Authenticate with "
    "`Authorization: Bearer <token>`; get a token with `kam token NAME`.",
    auth=[BearerAuth(), SessionAuth()],
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_error_handlers(api)
# The value pyramid and grades: /accounts/grading, /accounts/{id}/grade, …/revenue.
# Before the accounts router, so "grading" is never read as an account id.
api.add_router("/accounts", account_grading_router)
api.add_router("/accounts", accounts_router)
# The type questionnaire, needs radar and satisfaction: /accounts/{id}/needs ….
api.add_router("/accounts", account_profile_router)
# An account's competition map, SWOT and posture: /accounts/{id}/competition, /swot ….
api.add_router("/accounts", account_competition_router)
api.add_router("/contacts", contacts_router)
api.add_router("/opportunities", opportunities_router)
api.add_router("/opportunities", process_router)
# The alerts of every visible open deal (a manager's red flags across the team).
api.add_router("/risks", risks_router)
api.add_router("/pipeline", pipeline_router)
# A deal's buying centre: /opportunities/{id}/stakeholders, kept in its own app.
api.add_router("/opportunities", stakeholders_router)
# What we learned about a deal and from whom: /opportunities/{id}/intel.
api.add_router("/opportunities", intel_router)
# Market segments (市场细分): definitions over the segmentation variables, their scores.
api.add_router("/segments", segments_router)
# Rivals as records, and a deal's competitor scoring table: /opportunities/{id}/competition.
api.add_router("/competitors", competitors_router)
api.add_router("/opportunities", competition_router)
# The referral programme: partners, referrals, statements, releases, payouts; and the
# money collected on a won deal: /opportunities/{id}/payments.
api.add_router("/partners", partners_router)
api.add_router("/opportunities", payments_router)
# Account and opportunity teams: colleagues given read or edit rights by the owner.
api.add_router(
    "/accounts",
    members_router(
        tag="accounts",
        id_name="account_id",
        member_model=AccountMember,
        get_for_user=account_get_for_user,
    ),
)
api.add_router(
    "/opportunities",
    members_router(
        tag="opportunities",
        id_name="opportunity_id",
        member_model=OpportunityMember,
        get_for_user=opportunity_get_for_user,
    ),
)
