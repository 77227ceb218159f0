from django.urls import path

from kam.web.views import (
    accounts,
    alerts,
    board,
    contacts,
    health,
    home,
    intel,
    opportunities,
    process,
)

OPP = "opportunities/<int:opportunity_id>/"

urlpatterns = [
    path("", home.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("accounts/", accounts.account_list_view, name="account-list"),
    path("accounts/new/", accounts.account_create_view, name="account-create"),
    path("accounts/<int:account_id>/", accounts.account_detail, name="account-detail"),
    path("accounts/<int:account_id>/edit/", accounts.account_edit_view, name="account-edit"),
    path(
        "accounts/<int:account_id>/contacts/new/",
        contacts.contact_create_view,
        name="contact-create",
    ),
    path("contacts/<int:contact_id>/edit/", contacts.contact_edit_view, name="contact-edit"),
    path("opportunities/", opportunities.opportunity_list_view, name="opportunity-list"),
    path("opportunities/new/", opportunities.opportunity_create_view, name="opportunity-create"),
    path("opportunities/board/", board.board_view, name="opportunity-board"),
    path("alerts/", alerts.alert_list_view, name="alert-list"),
    path(OPP, opportunities.opportunity_detail, name="opportunity-detail"),
    path(f"{OPP}edit/", opportunities.opportunity_edit_view, name="opportunity-edit"),
    # the process engine (POST only; each calls one service)
    path(f"{OPP}advance/", process.advance_view, name="opportunity-advance"),
    path(f"{OPP}close/", process.close_view, name="opportunity-close"),
    path(f"{OPP}buyer-stage/", process.buyer_stage_view, name="opportunity-buyer-stage"),
    path(f"{OPP}evaluation/", process.evaluation_view, name="opportunity-evaluation"),
    path(f"{OPP}priority/", process.priority_view, name="opportunity-priority"),
    path(f"{OPP}criteria/", process.criterion_add_view, name="criterion-add"),
    path(
        f"{OPP}criteria/<int:criterion_id>/delete/",
        process.criterion_delete_view,
        name="criterion-delete",
    ),
    path(f"{OPP}milestones/", process.milestone_record_view, name="milestone-record"),
    path(
        f"{OPP}milestones/<int:milestone_id>/delete/",
        process.milestone_delete_view,
        name="milestone-delete",
    ),
    path(f"{OPP}stakeholders/", process.stakeholder_add_view, name="stakeholder-add"),
    path(
        f"{OPP}stakeholders/<int:stakeholder_id>/",
        process.stakeholder_update_view,
        name="stakeholder-update",
    ),
    path(
        f"{OPP}stakeholders/<int:stakeholder_id>/delete/",
        process.stakeholder_remove_view,
        name="stakeholder-remove",
    ),
    # intelligence (情报): record, confirm by another person, take back
    path(f"{OPP}intel/", intel.intel_add_view, name="intel-add"),
    path(f"{OPP}intel/<int:item_id>/confirm/", intel.intel_confirm_view, name="intel-confirm"),
    path(f"{OPP}intel/<int:item_id>/delete/", intel.intel_delete_view, name="intel-delete"),
    path(
        f"{OPP}intel/<int:item_id>/sources/<int:source_id>/delete/",
        intel.intel_source_remove_view,
        name="intel-source-remove",
    ),
    path(f"{OPP}board-advance/", board.board_advance_view, name="board-advance"),
]
