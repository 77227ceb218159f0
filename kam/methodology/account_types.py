"""SPEC §6: the three account types (三类大客户) and the questionnaire that suggests one.

`AccountTypeModel` is models/account_types.toml: a description of each type (what the
customer buys, what decides, the relationship, the playbook emphasis) and a short
questionnaire whose answers add points to the types. `AccountTypeModel.suggest`
turns a set of answers into a `Suggestion`:

- the suggested type is the one with the most points;
- a tie goes to the *less demanding* type, in the order of `TYPE_KEYS`
  (transactional, then value, then strategic): we never assume a deeper relationship
  than the answers support. The tie is reported (`tie`, `tied`) so the user decides;
- the reasons are those of the answers that gave points to the suggested type, in
  question order;
- `confidence` is the share of all points that went to the suggested type (0–1);
- no answer at all (or only blanks) suggests nothing.

Pure: no Django. Texts for the user are `Text` (both languages) from the file, or
`Msg` (English templates marked for translation) for the errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kam.methodology.schema import Text, _check_key, check_unique
from kam.methodology.text import Msg, gettext_noop

# The types, from the least to the most demanding relationship. They are the values
# of Account.account_type, so a file cannot rename or add one.
TYPE_KEYS: tuple[str, ...] = ("transactional", "value", "strategic")

MAX_POINTS = 10


class TypeProfile(BaseModel):
    """One type: what it looks like and what the sales team stresses with it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Text
    buys: Text
    decides: Text
    relationship: Text
    emphasis: list[Text] = Field(min_length=1, max_length=6)


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    text: Text
    points: dict[str, int] = Field(min_length=1)
    reason: Text

    _key = field_validator("key")(_check_key)

    @field_validator("points")
    @classmethod
    def _known_types(cls, value: dict[str, int]) -> dict[str, int]:
        for key, points in value.items():
            if key not in TYPE_KEYS:
                raise ValueError(
                    f"points.{key}: not an account type; use any of: {', '.join(TYPE_KEYS)}"
                )
            if not 1 <= points <= MAX_POINTS:
                raise ValueError(f"points.{key}: give from 1 to {MAX_POINTS} points")
        return value


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    text: Text
    help: Text | None = None
    # At least two answers, or the question would not tell anything apart.
    answers: list[Answer] = Field(min_length=2)

    _key = field_validator("key")(_check_key)

    @model_validator(mode="after")
    def _unique_answers(self) -> Question:
        keys = [a.key for a in self.answers]
        check_unique(keys, "answer")
        return self

    def answer(self, key: str) -> Answer | None:
        return next((a for a in self.answers if a.key == key), None)


@dataclass(frozen=True)
class Suggestion:
    """What the answers suggest. `type` is None when nothing was answered."""

    type: str | None
    points: dict[str, int]  # every type, in TYPE_KEYS order
    reasons: tuple[Text, ...]
    confidence: float
    tie: bool
    tied: tuple[str, ...]  # the types sharing the top score when tie is true
    answered: int
    questions: int


class AnswerError(ValueError):
    """An answer names a question or an answer the questionnaire does not have.
    `question` is the key at fault (the API reports it as `answers.<question>`)."""

    def __init__(self, question: str, msg: Msg):
        super().__init__(f"answers.{question}: {msg.template % dict(msg.params)}")
        self.question = question
        self.msg = msg


class AccountTypeModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    types: dict[str, TypeProfile]
    questions: list[Question] = Field(min_length=1, max_length=12)

    @field_validator("types")
    @classmethod
    def _the_three_types(cls, value: dict[str, TypeProfile]) -> dict[str, TypeProfile]:
        missing = [k for k in TYPE_KEYS if k not in value]
        extra = [k for k in value if k not in TYPE_KEYS]
        if missing or extra:
            raise ValueError(
                f"describe exactly the types {', '.join(TYPE_KEYS)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(extra)}" if extra else "")
            )
        return {k: value[k] for k in TYPE_KEYS}

    @model_validator(mode="after")
    def _consistent(self) -> AccountTypeModel:
        keys = [q.key for q in self.questions]
        check_unique(keys, "question")
        scored = {t for q in self.questions for a in q.answers for t in a.points}
        unreachable = [t for t in TYPE_KEYS if t not in scored]
        if unreachable:
            raise ValueError(
                f"no answer gives points to {', '.join(unreachable)}; every type must be reachable"
            )
        return self

    def type(self, key: str) -> TypeProfile:
        return self.types[key]

    def question(self, key: str) -> Question | None:
        return next((q for q in self.questions if q.key == key), None)

    def suggest(self, answers: Mapping[str, Any]) -> Suggestion:
        """The type the answers point to (see the module docstring for the rules).
        `answers` maps question keys to answer keys; a blank answer (None or "") is
        no answer. An unknown question or answer raises AnswerError."""
        chosen: dict[str, Answer] = {}
        for q_key, a_key in answers.items():
            question = self.question(q_key)
            if question is None:
                raise AnswerError(
                    str(q_key),
                    Msg(
                        gettext_noop("There is no question “%(question)s”; use one of: %(known)s."),
                        {"question": q_key, "known": ", ".join(q.key for q in self.questions)},
                    ),
                )
            if a_key is None or a_key == "":
                continue
            answer = question.answer(a_key) if isinstance(a_key, str) else None
            if answer is None:
                raise AnswerError(
                    question.key,
                    Msg(
                        gettext_noop(
                            "“%(answer)s” is not an answer to this question; use one of: %(known)s."
                        ),
                        {"answer": a_key, "known": ", ".join(a.key for a in question.answers)},
                    ),
                )
            chosen[question.key] = answer
        points = dict.fromkeys(TYPE_KEYS, 0)
        for answer in chosen.values():
            for key, value in answer.points.items():
                points[key] += value
        total = sum(points.values())
        if not chosen or total == 0:
            return Suggestion(
                type=None,
                points=points,
                reasons=(),
                confidence=0.0,
                tie=False,
                tied=(),
                answered=len(chosen),
                questions=len(self.questions),
            )
        best = max(points.values())
        tied = tuple(k for k in TYPE_KEYS if points[k] == best)
        winner = tied[0]  # TYPE_KEYS order: the less demanding type wins a tie
        reasons = tuple(
            chosen[q.key].reason
            for q in self.questions
            if q.key in chosen and chosen[q.key].points.get(winner)
        )
        return Suggestion(
            type=winner,
            points=points,
            reasons=reasons,
            confidence=round(best / total, 2),
            tie=len(tied) > 1,
            tied=tied if len(tied) > 1 else (),
            answered=len(chosen),
            questions=len(self.questions),
        )
