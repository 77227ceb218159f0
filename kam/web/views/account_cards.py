"""What every card of the account page does after a POST: saved → a message and back
to the card (PRG); refused → the whole page again with the form's errors (422)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse


def back_to_card(account, anchor: str):
    return redirect(f"{reverse('account-detail', args=[account.pk])}#{anchor}")


def card_errors(request, account, key: str, form):
    """The account page with `form` (under `key`) carrying its errors."""
    from kam.web.views.accounts import render_account  # that page imports the cards

    return render_account(request, account, forms={key: form}, status=422)


def submit_card(
    request, account, form, *, key: str, anchor: str, success: str | Callable[[Any], str]
):
    """Valid and saved by its service → `success` (text, or made from what was saved)
    and back to the card; otherwise the page with the errors."""
    saved = form.save() if form.is_valid() else None
    if saved is None:
        return card_errors(request, account, key, form)
    messages.success(request, success(saved) if callable(success) else success)
    return back_to_card(account, anchor)
