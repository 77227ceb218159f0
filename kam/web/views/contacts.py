from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from kam.contacts.selectors import account_for_contact_work, contact_get_for_edit
from kam.web.forms import ContactForm
from kam.web.views.common import domain_errors


def _back(request, account):
    """Return to the opportunity the user came from, else to the account page."""
    back = request.POST.get("next") or request.GET.get("next") or ""
    if back and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)
    return redirect("account-detail", account_id=account.pk)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@domain_errors
def contact_create_view(request, account_id: int):
    # Whoever may edit the account or one of its deals maps its people.
    account = account_for_contact_work(request.user, account_id)
    form = ContactForm(
        request.POST if request.method == "POST" else None, actor=request.user, account=account
    )
    if request.method == "POST" and form.is_valid():
        contact = form.save()
        if contact is not None:
            messages.success(request, _("Contact “%(name)s” added.") % {"name": contact.name})
            return _back(request, account)
    context = {"form": form, "account": account, "contact": None, "nav": "accounts"}
    return render(request, "web/contacts/form.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@domain_errors
def contact_edit_view(request, contact_id: int):
    contact = contact_get_for_edit(request.user, contact_id)
    account = contact.account
    form = ContactForm(
        request.POST if request.method == "POST" else None,
        actor=request.user,
        account=account,
        instance=contact,
    )
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        if saved is not None:
            messages.success(request, _("Contact “%(name)s” saved.") % {"name": saved.name})
            return _back(request, account)
    context = {"form": form, "account": account, "contact": contact, "nav": "accounts"}
    return render(request, "web/contacts/form.html", context)
