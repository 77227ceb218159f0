from django.urls import path

from kam.web.views import (
    account_competition,
    account_profile,
    accounts,
    alerts,
    board,
    competition,
    contacts,
    grading,
    health,
    home,
    imports,
    intel,
    list_export,
    opportunities,
    partner_export,
    partners,
    payments,
    pipeline,
    pipeline_export,
    process,
    segments,
    team,
)

OPP = "opportunities/<int:opportunity_id>/"

urlpatterns = [
    path("", home.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    # the manager's dashboard (路标管理, SPEC §8), the deals behind a number, the export
    path("pipeline/", pipeline.pipeline_dashboard_view, name="pipeline-dashboard"),
    path("pipeline/deals/", pipeline.pipeline_deals_view, name="pipeline-deals"),
    path("pipeline/export.xlsx", pipeline_export.pipeline_export_view, name="pipeline-export"),
    # import from Excel/CSV: the form, the preview and the import of a kept file, templates
    path("import/", imports.import_view, name="import"),
    path(
        "import/template-<str:language>.xlsx", imports.import_template_view, name="import-template"
    ),
    path(
        "import/template-<str:kind>-<str:language>.csv",
        imports.import_template_csv_view,
        name="import-template-csv",
    ),
    path("import/<str:token>/", imports.import_preview_view, name="import-preview"),
    path("accounts/", accounts.account_list_view, name="account-list"),
    path("accounts/new/", accounts.account_create_view, name="account-create"),
    # every list as a workbook, with the list's filters (kam/web/views/list_export.py)
    path("accounts/export.xlsx", list_export.account_export_view, name="account-export"),
    path("accounts/grading/export.xlsx", list_export.grading_export_view, name="grading-export"),
    path(
        "opportunities/export.xlsx", list_export.opportunity_export_view, name="opportunity-export"
    ),
    path("alerts/export.xlsx", list_export.alert_export_view, name="alert-export"),
    path("partners/export.xlsx", list_export.partner_export_view, name="partner-export"),
    path("segments/export.xlsx", list_export.segment_export_view, name="segment-export"),
    # account grading (SPEC §6): the value pyramid, Pareto and grades; revenue records
    path("accounts/grading/", grading.grading_dashboard_view, name="account-grading"),
    path(
        "accounts/<int:account_id>/revenue/", grading.revenue_add_view, name="account-revenue-add"
    ),
    path(
        "accounts/<int:account_id>/revenue/<int:record_id>/delete/",
        grading.revenue_delete_view,
        name="account-revenue-delete",
    ),
    path("accounts/<int:account_id>/", accounts.account_detail, name="account-detail"),
    path("accounts/<int:account_id>/edit/", accounts.account_edit_view, name="account-edit"),
    # the account's competition card: map, SWOT, posture (POST only; each calls one service)
    path(
        "accounts/<int:account_id>/competition/map/",
        account_competition.competition_map_view,
        name="account-competition-map",
    ),
    path(
        "accounts/<int:account_id>/competition/swot/",
        account_competition.swot_add_view,
        name="account-swot-add",
    ),
    path(
        "accounts/<int:account_id>/competition/swot/<int:item_id>/delete/",
        account_competition.swot_delete_view,
        name="account-swot-delete",
    ),
    path(
        "accounts/<int:account_id>/competition/position/",
        account_competition.position_view,
        name="account-position",
    ),
    # account type questionnaire, needs radar, satisfaction (SPEC §6)
    path("accounts/<int:account_id>/type/", account_profile.account_type_view, name="account-type"),
    path(
        "accounts/<int:account_id>/needs/", account_profile.account_needs_view, name="account-needs"
    ),
    path(
        "accounts/<int:account_id>/satisfaction/",
        account_profile.satisfaction_add_view,
        name="account-satisfaction-add",
    ),
    path(
        "accounts/<int:account_id>/satisfaction/<int:record_id>/delete/",
        account_profile.satisfaction_delete_view,
        name="account-satisfaction-delete",
    ),
    # market segmentation (市场细分): the segments, and an account's segmentation profile
    path(
        "accounts/<int:account_id>/segmentation/",
        segments.account_segmentation_view,
        name="account-segmentation",
    ),
    # the team card (团队): who else works the account, with which rights
    path(
        "accounts/<int:account_id>/team/", team.account_member_set_view, name="account-member-set"
    ),
    path(
        "accounts/<int:account_id>/team/<int:user_id>/remove/",
        team.account_member_remove_view,
        name="account-member-remove",
    ),
    path("segments/", segments.segment_list_view, name="segment-list"),
    path("segments/new/", segments.segment_create_view, name="segment-create"),
    path("segments/<int:segment_id>/", segments.segment_detail_view, name="segment-detail"),
    path("segments/<int:segment_id>/edit/", segments.segment_edit_view, name="segment-edit"),
    path("segments/<int:segment_id>/delete/", segments.segment_delete_view, name="segment-delete"),
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
    # the referral programme (交互式合作营销, SPEC §7): partners, referrals, statements
    path("partners/", partners.partner_list_view, name="partner-list"),
    path("partners/new/", partners.partner_create_view, name="partner-create"),
    path("partners/<int:partner_id>/", partners.partner_detail_view, name="partner-detail"),
    path("partners/<int:partner_id>/edit/", partners.partner_edit_view, name="partner-edit"),
    path(
        "partners/<int:partner_id>/referrals/",
        partners.referral_add_view,
        name="partner-referral-add",
    ),
    path(
        "partners/<int:partner_id>/referrals/<int:referral_id>/delete/",
        partners.referral_remove_view,
        name="partner-referral-remove",
    ),
    path(
        "partners/<int:partner_id>/referrals/<int:referral_id>/release/",
        partners.referral_release_view,
        name="partner-release",
    ),
    path(
        "partners/<int:partner_id>/referrals/<int:referral_id>/disclosure/",
        partners.disclosure_view,
        name="partner-disclosure",
    ),
    path("partners/<int:partner_id>/payouts/", partners.payout_view, name="partner-payout"),
    path(
        "partners/<int:partner_id>/statement.xlsx",
        partner_export.partner_statement_export_view,
        name="partner-statement-export",
    ),
    path(OPP, opportunities.opportunity_detail, name="opportunity-detail"),
    path(f"{OPP}edit/", opportunities.opportunity_edit_view, name="opportunity-edit"),
    path(f"{OPP}team/", team.opportunity_member_set_view, name="opportunity-member-set"),
    path(
        f"{OPP}team/<int:user_id>/remove/",
        team.opportunity_member_remove_view,
        name="opportunity-member-remove",
    ),
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
    # payments collected (回款) on a won deal: record, remove one entered by mistake
    path(f"{OPP}payments/", payments.payment_add_view, name="payment-add"),
    path(
        f"{OPP}payments/<int:payment_id>/delete/",
        payments.payment_delete_view,
        name="payment-delete",
    ),
    # the competitor scoring table (竞争对手分析表): save, add a rival, remove one
    path(f"{OPP}competition/", competition.competition_save_view, name="opportunity-competition"),
    path(f"{OPP}board-advance/", board.board_advance_view, name="board-advance"),
]
