"""The "Team" card (团队) on the account and the opportunity page: who else works the
record and with which rights, and — for whoever may share it (the owner, the
owner's manager, an admin) — a form to add a colleague or change their access and
a button to take them off. The rule and the events are kam.core.sharing's; the API
twin is kam.core.sharing_api. One set of views serves both kinds of record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kam.accounts.models import AccountMember
from kam.accounts.selectors import account_get_for_user
from kam.core import sharing
from kam.opportunities.models import OpportunityMember
from kam.opportunities.selectors import opportunity_get_for_user
from kam.users.models import User
from kam.web.forms import ServiceForm
from kam.web.views.common import domain_errors


class ColleagueField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return f"{obj} · {obj.team}" if obj.team_id else str(obj)


class TeamMemberForm(ServiceForm):
    """Add a colleague to the record's team, or change the access of one on it."""

    user = ColleagueField(queryset=User.objects.none(), label=gettext_lazy("Colleague"))
    access = forms.ChoiceField(choices=sharing.Access.choices, label=gettext_lazy("Access"))

    def __init__(self, data=None, *, actor, record, member_model):
        super().__init__(data, prefix="team")
        self.actor, self.record, self.member_model = actor, record, member_model
        # every active colleague but the owner; the service checks the rest
        self.fields["user"].queryset = (
            User.objects.filter(is_active=True)
            .exclude(pk=record.owner_id)
            .select_related("team")
            .order_by("team__name", "username")
        )

    def save(self):
        return self.run(
            lambda: sharing.member_set(
                actor=self.actor,
                record=self.record,
                member_model=self.member_model,
                user=self.cleaned_data["user"],
                access=self.cleaned_data["access"],
            )
        )


@dataclass(frozen=True)
class TeamKind:
    """What differs between the account's team and the deal's."""

    url_prefix: str  # "account" or "opportunity": the URL names' first word
    id_name: str  # the record's id in the URL: account_id or opportunity_id
    member_model: type[sharing.Membership]
    get_for_user: Callable  # the read selector: 404 out of sight
    render_page: Callable  # (request, record, forms, status) → the record's page

    def page_url(self, record) -> str:
        return reverse(f"{self.url_prefix}-detail", args=[record.pk]) + "#team"


def _render_account(request, account, forms, status):
    from kam.web.views.accounts import render_account  # that page includes the card

    return render_account(request, account, forms=forms, status=status)


def _render_opportunity(request, opp, forms, status):
    from kam.web.views.process import render_detail  # that page includes the card

    return render_detail(request, opp, forms=forms, status=status)


ACCOUNT = TeamKind("account", "account_id", AccountMember, account_get_for_user, _render_account)
OPPORTUNITY = TeamKind(
    "opportunity",
    "opportunity_id",
    OpportunityMember,
    opportunity_get_for_user,
    _render_opportunity,
)


def team_context(user, record, kind: TeamKind, forms: dict | None = None) -> dict:
    """The card's members and, for whoever may share the record, its form."""
    can_share = sharing.may_share(user, record)
    form = (forms or {}).get("team")
    if can_share and form is None:
        form = TeamMemberForm(actor=user, record=record, member_model=kind.member_model)
    members = list(
        sharing.members_of(record, kind.member_model).select_related("user__team", "added_by")
    )
    return {
        "team": {
            "members": members,
            "can_share": can_share,
            "form": form if can_share else None,
            "set_url": reverse(f"{kind.url_prefix}-member-set", args=[record.pk]),
            "remove_url": f"{kind.url_prefix}-member-remove",
            "record_id": record.pk,
            "owner": record.owner,
            # the people a reader should ask for more rights
            "sharers": sharing.sharers_of(record),
        }
    }


def _member_views(kind: TeamKind):
    @login_required
    @require_POST
    @domain_errors
    def set_view(request, **ids: int):
        record = kind.get_for_user(request.user, ids[kind.id_name])
        sharing.check_share(request.user, record)  # the 403 page, not a form error
        form = TeamMemberForm(
            request.POST, actor=request.user, record=record, member_model=kind.member_model
        )
        member = form.save() if form.is_valid() else None
        if member is None:
            return kind.render_page(request, record, {"team": form}, 422)
        messages.success(
            request,
            _("%(user)s is on the team: %(access)s.")
            % {"user": member.user, "access": member.get_access_display()},
        )
        return redirect(kind.page_url(record))

    @login_required
    @require_POST
    @domain_errors
    def remove_view(request, user_id: int, **ids: int):
        record = kind.get_for_user(request.user, ids[kind.id_name])
        sharing.member_remove(
            actor=request.user, record=record, member_model=kind.member_model, user_id=user_id
        )
        gone = User.objects.filter(pk=user_id).first()
        messages.success(request, _("%(user)s is off the team.") % {"user": gone})
        return redirect(kind.page_url(record))

    return set_view, remove_view


account_member_set_view, account_member_remove_view = _member_views(ACCOUNT)
opportunity_member_set_view, opportunity_member_remove_view = _member_views(OPPORTUNITY)
