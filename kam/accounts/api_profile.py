"""/api/v1/accounts: the account type questionnaire (三类大客户), the needs radar and
the satisfaction records (需求分析, SPEC §6).

Mounted under /accounts beside the accounts router (kam/config/api.py). Reads find
the account through `account_get_for_user` (404 outside the user's scope); writes
through `account_get_for_edit` (403 when visible but not editable). The path
`/type-questionnaire` is not a number, so the accounts router's `/{int:account_id}`
routes never catch it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from ninja import Field, Router, Schema, Status

from kam.accounts import needs as services
from kam.accounts.models import AccountNeed, SatisfactionRecord
from kam.accounts.selectors import account_get_for_edit, account_get_for_user
from kam.contacts.selectors import contact_named_in_payload
from kam.core.api_support import ERRORS, MAX_ID, checked
from kam.core.i18n import show
from kam.methodology import registry
from kam.methodology.account_types import TYPE_KEYS

router = Router(tags=["accounts"])
# A question's or an answer's key in the type questionnaire.
Key = Annotated[str, Field(max_length=40)]


# --- type questionnaire --------------------------------------------------------------


class TypeOut(Schema):
    key: str
    name: str
    buys: str = Field(description="What the customer buys.")
    decides: str = Field(description="What decides their choice.")
    relationship: str = Field(description="The relationship style.")
    emphasis: list[str] = Field(description="What the sales team stresses with this type.")


class AnswerOut(Schema):
    key: str
    text: str


class QuestionOut(Schema):
    key: str
    text: str
    help: str
    answers: list[AnswerOut]


class QuestionnaireOut(Schema):
    types: list[TypeOut]
    questions: list[QuestionOut]


class TypeAnswersIn(Schema):
    answers: dict[Key, Key | None] = Field(
        max_length=50,
        description="Question key → answer key (see GET /accounts/type-questionnaire); "
        "unanswered questions may be left out or null.",
    )
    apply: bool = Field(
        False, description="Set the account's type to the suggestion (needs edit rights)."
    )


class SuggestionOut(Schema):
    suggested: str | None = Field(description="The suggested type; null when nothing answered.")
    suggested_name: str
    points: dict[str, int]
    reasons: list[str] = Field(description="Why: the answers that pointed to the suggestion.")
    tie: bool = Field(description="Several types share the top score; the less demanding won.")
    tied: list[str]
    confidence: float = Field(description="The suggested type's share of all points, 0–1.")
    answered: int
    questions: int
    applied: bool
    account_type: str = Field(description="The account's type after this request.")


def type_out(key: str) -> dict:
    t = registry.current().account_types.type(key)
    return {
        "key": key,
        "name": show(t.name),
        "buys": show(t.buys),
        "decides": show(t.decides),
        "relationship": show(t.relationship),
        "emphasis": [show(e) for e in t.emphasis],
    }


@router.get("/type-questionnaire", response={200: QuestionnaireOut, **ERRORS})
def type_questionnaire(request):
    """The three account types and the questions that suggest one, in the user's
    language."""
    model = registry.current().account_types
    return {
        "types": [type_out(k) for k in TYPE_KEYS],
        "questions": [
            {
                "key": q.key,
                "text": show(q.text),
                "help": show(q.help),
                "answers": [{"key": a.key, "text": show(a.text)} for a in q.answers],
            }
            for q in model.questions
        ],
    }


@router.post("/{int:account_id}/type-questionnaire", response={200: SuggestionOut, **ERRORS})
def suggest_type(request, account_id: int, payload: TypeAnswersIn):
    """Suggest a type from the answers; with `apply` set it on the account (audited
    as an account update). An unknown question or answer is a 422 on
    `answers.<question>`."""
    if payload.apply:
        account = account_get_for_edit(request.auth, account_id)
    else:
        account = account_get_for_user(request.auth, account_id)
    suggestion = services.account_type_questionnaire(
        actor=request.auth, account=account, answers=payload.answers, apply=payload.apply
    )
    model = registry.current().account_types
    return {
        "suggested": suggestion.type,
        "suggested_name": show(model.type(suggestion.type).name) if suggestion.type else "",
        "points": suggestion.points,
        "reasons": [show(r) for r in suggestion.reasons],
        "tie": suggestion.tie,
        "tied": list(suggestion.tied),
        "confidence": suggestion.confidence,
        "answered": suggestion.answered,
        "questions": suggestion.questions,
        "applied": payload.apply,
        "account_type": account.account_type,
    }


# --- needs radar -----------------------------------------------------------------------


# The limits below are the service's (kam/accounts/needs.py), which words the message.
class NeedIn(Schema):
    dimension: str = Field(
        description="What the customer cares about, unique (case ignored).",
        json_schema_extra=checked(maxLength=services.DIMENSION_MAX),
    )
    importance: int = Field(
        description="How much the customer cares, 1–5.",
        json_schema_extra=checked(minimum=services.SCORE_MIN, maximum=services.SCORE_MAX),
    )
    our_fit: int = Field(
        description="How well we serve it, 1–5.",
        json_schema_extra=checked(minimum=services.SCORE_MIN, maximum=services.SCORE_MAX),
    )
    note: str | None = Field(None, json_schema_extra=checked(maxLength=services.NOTE_MAX))


class NeedsIn(Schema):
    needs: list[NeedIn] = Field(
        description="The whole radar, in order (0–20 dimensions; a radar is drawn from 3).",
        json_schema_extra=checked(maxItems=services.NEEDS_MAX),
    )


class NeedOut(Schema):
    id: int
    dimension: str
    importance: int
    our_fit: int
    note: str
    gap: int = Field(description="importance − our_fit")
    shortfall: bool = Field(description="Important to the customer (≥ 4) and fit ≥ 2 lower.")

    @staticmethod
    def resolve_gap(obj: AccountNeed) -> int:
        return obj.importance - obj.our_fit

    @staticmethod
    def resolve_shortfall(obj: AccountNeed) -> bool:
        return services.is_shortfall(obj.importance, obj.our_fit)


class NeedsOut(Schema):
    needs: list[NeedOut]
    shortfalls: list[str] = Field(description="Where we fall short, the widest gap first.")


def _needs_out(needs: list[AccountNeed]) -> dict:
    return {"needs": needs, "shortfalls": [n.dimension for n in services.shortfalls(needs)]}


@router.get("/{int:account_id}/needs", response={200: NeedsOut, **ERRORS})
def get_needs(request, account_id: int):
    account = account_get_for_user(request.auth, account_id)
    return _needs_out(services.needs_for_account(account))


@router.put("/{int:account_id}/needs", response={200: NeedsOut, **ERRORS})
def set_needs(request, account_id: int, payload: NeedsIn):
    """Replace the needs radar as a whole (an empty list clears it)."""
    account = account_get_for_edit(request.auth, account_id)
    needs = services.needs_set(
        actor=request.auth,
        account=account,
        needs=[n.model_dump() for n in payload.needs],
    )
    return _needs_out(needs)


# --- satisfaction ----------------------------------------------------------------------


class SatisfactionIn(Schema):
    score: int = Field(
        description="1 very dissatisfied … 5 very satisfied.",
        json_schema_extra=checked(minimum=services.SCORE_MIN, maximum=services.SCORE_MAX),
    )
    date: dt.date | None = Field(None, description="YYYY-MM-DD; today when left out.")
    contact_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="Who told us: a contact of this account."
    )
    note: str | None = Field(None, json_schema_extra=checked(maxLength=services.NOTE_MAX))


class SatisfactionOut(Schema):
    id: int
    account_id: int
    date: dt.date
    score: int
    contact_id: int | None
    contact_name: str
    note: str
    recorded_by_id: int | None
    recorded_by_name: str
    created_at: dt.datetime

    @staticmethod
    def resolve_contact_name(obj: SatisfactionRecord) -> str:
        return obj.contact.name if obj.contact_id else ""

    @staticmethod
    def resolve_recorded_by_name(obj: SatisfactionRecord) -> str:
        return str(obj.recorded_by) if obj.recorded_by_id else ""


@router.get("/{int:account_id}/satisfaction", response={200: list[SatisfactionOut], **ERRORS})
def list_satisfaction(request, account_id: int):
    """The records, oldest first."""
    account = account_get_for_user(request.auth, account_id)
    return list(services.satisfaction_for_account(account))


@router.post("/{int:account_id}/satisfaction", response={201: SatisfactionOut, **ERRORS})
def add_satisfaction(request, account_id: int, payload: SatisfactionIn):
    account = account_get_for_edit(request.auth, account_id)
    contact = (
        contact_named_in_payload(request.auth, payload.contact_id, field="contact_id")
        if payload.contact_id is not None
        else None
    )
    record = services.satisfaction_record_add(
        actor=request.auth,
        account=account,
        score=payload.score,
        date=payload.date,
        contact=contact,
        note=payload.note or "",
    )
    return Status(201, services.satisfaction_record_get(account, record.pk))


@router.delete("/{int:account_id}/satisfaction/{int:record_id}", response={204: None, **ERRORS})
def delete_satisfaction(request, account_id: int, record_id: int):
    account = account_get_for_edit(request.auth, account_id)
    record = services.satisfaction_record_get(account, record_id)
    services.satisfaction_record_delete(actor=request.auth, record=record)
    return Status(204, None)
