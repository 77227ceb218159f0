from django.urls import path

from kam.web.views import accounts, contacts, health, home, opportunities

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
    path(
        "opportunities/<int:opportunity_id>/",
        opportunities.opportunity_detail,
        name="opportunity-detail",
    ),
    path(
        "opportunities/<int:opportunity_id>/edit/",
        opportunities.opportunity_edit_view,
        name="opportunity-edit",
    ),
]
