"""Small template helpers: money, and stage names in the user's language."""

from __future__ import annotations

from django import template

from kam.web import presenters

register = template.Library()


@register.filter
def money(value, currency: str = "") -> str:
    """{{ opp.amount|money:opp.currency }} → "CNY 1,250,000.00"."""
    return presenters.format_money(value, currency)


@register.filter
def stage_name(opportunity) -> str:
    """The seller stage of an opportunity, named by its playbook."""
    return presenters.stage_name(opportunity.playbook, opportunity.stage)


@register.filter
def buyer_stage_name(key: str) -> str:
    return presenters.buyer_stage_name(key)


@register.filter
def playbook_name(key: str) -> str:
    return presenters.playbook_name(key)


@register.filter
def margin(value) -> str:
    """{{ milestone.margin|margin }} → "18.5%"."""
    return presenters.format_margin(value)
