"""Loads the methodology files once and answers questions about them.

Shipped files live in kam/methodology/; an administrator adds playbooks as TOML
files in <KAM_DATA_DIR>/playbooks/ (same format). Any problem is reported as a
MethodologyError naming the file and the field."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pydantic import BaseModel, ValidationError

from kam.methodology import checks
from kam.methodology.account_types import AccountTypeModel
from kam.methodology.buying_centre import BuyingCentreModel
from kam.methodology.commission import ProgrammeModel
from kam.methodology.competition import CompetitionModel
from kam.methodology.evaluation import EvaluationModel, PriorityModel
from kam.methodology.grading import GradingModel
from kam.methodology.risks import RiskConfig
from kam.methodology.schema import BuyerProcess, MilestoneKinds, Playbook
from kam.methodology.segmentation import SegmentationModel

HERE = Path(__file__).resolve().parent
BUYER_PROCESS_FILE = HERE / "buyer_process.toml"
MODELS_DIR = HERE / "models"

M = TypeVar("M", bound=BaseModel)


class MethodologyError(ImproperlyConfigured):
    """A methodology file is unreadable or inconsistent."""


def _location(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def parse_file(path: Path, model: type[M]) -> M:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MethodologyError(f"{path}: cannot be read ({exc.strerror}).") from None
    except UnicodeDecodeError:
        raise MethodologyError(f"{path}: is not UTF-8 text; save it as UTF-8.") from None
    except tomllib.TOMLDecodeError as exc:
        raise MethodologyError(f"{path}: is not valid TOML: {exc}.") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_location(err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise MethodologyError(f"{path}: {problems}") from None


@dataclass(frozen=True)
class AccountModels:
    """The account-side models of SPEC §6, each a file in models/ (overridable)."""

    competition: CompetitionModel
    grading: GradingModel
    account_types: AccountTypeModel
    segmentation: SegmentationModel
    partner_programmes: ProgrammeModel


def load_account_models(override_dir: Path | None) -> AccountModels:
    return AccountModels(
        competition=parse_file(model_file("competition.toml", override_dir), CompetitionModel),
        grading=parse_file(model_file("grading.toml", override_dir), GradingModel),
        account_types=parse_file(model_file("account_types.toml", override_dir), AccountTypeModel),
        segmentation=parse_file(model_file("segmentation.toml", override_dir), SegmentationModel),
        partner_programmes=parse_file(
            model_file("partner_programmes.toml", override_dir), ProgrammeModel
        ),
    )


class Methodology:
    def __init__(
        self,
        buyer: BuyerProcess,
        playbooks: dict[str, Playbook],
        *,
        milestones: MilestoneKinds,
        evaluation: EvaluationModel,
        priority: PriorityModel,
        risks: RiskConfig,
        buying_centre: BuyingCentreModel,
        accounts: AccountModels,
    ):
        self.buyer = buyer
        self.playbooks = playbooks
        self.milestones = milestones
        self.evaluation = evaluation
        self.priority = priority
        self.risks = risks
        self.buying_centre = buying_centre
        self.competition = accounts.competition
        self.grading = accounts.grading
        self.account_types = accounts.account_types
        self.segmentation = accounts.segmentation
        self.partner_programmes = accounts.partner_programmes
        defaults = [p.key for p in playbooks.values() if p.default]
        self.default_playbook_key = defaults[0] if defaults else next(iter(playbooks))
        self.check_context = checks.Context(
            buyer_stages=tuple(buyer.keys),
            buyer_stage_names={s.key: s.name for s in buyer.stages},
            milestone_names={k.key: k.name for k in milestones.kinds},
            factor_names={f.key: f.name for f in evaluation.factors},
        )
        self.buyer_seller_work = {s.key: s.seller_work for s in buyer.stages}


def model_file(name: str, override_dir: Path | None) -> Path:
    """The administrator's copy in the data folder if there is one, else the shipped file."""
    if override_dir is not None and (override_dir / name).is_file():
        return override_dir / name
    return MODELS_DIR / name


def build(
    playbook_dirs: list[Path],
    buyer_file: Path = BUYER_PROCESS_FILE,
    model_override_dir: Path | None = None,
) -> Methodology:
    buyer = parse_file(buyer_file, BuyerProcess)
    milestones = parse_file(model_file("milestones.toml", model_override_dir), MilestoneKinds)
    evaluation = parse_file(model_file("evaluation.toml", model_override_dir), EvaluationModel)
    priority = parse_file(model_file("priority.toml", model_override_dir), PriorityModel)
    risks_file = model_file("risks.toml", model_override_dir)
    risks = parse_file(risks_file, RiskConfig)
    for code, conf in risks.rules.items():
        stage = getattr(conf.parsed(code), "from_buyer_stage", None)
        if stage is not None and stage not in buyer.keys:
            raise MethodologyError(
                f"{risks_file}: rules.{code}.params.from_buyer_stage: '{stage}' is not a buyer "
                f"stage; use one of: {', '.join(buyer.keys)}."
            )
    centre_file = model_file("buying_centre.toml", model_override_dir)
    buying_centre = parse_file(centre_file, BuyingCentreModel)
    try:
        buying_centre.check_against(buyer.keys)
    except ValueError as exc:
        raise MethodologyError(f"{centre_file}: {exc}") from None
    playbooks: dict[str, Playbook] = {}
    sources: dict[str, Path] = {}
    for folder in playbook_dirs:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            book = parse_file(path, Playbook)
            if book.key != path.stem:
                raise MethodologyError(
                    f"{path}: key '{book.key}' must match the file name; rename the file to "
                    f'{book.key}.toml or set key = "{path.stem}".'
                )
            if book.key in playbooks:
                raise MethodologyError(
                    f"{path}: playbook '{book.key}' is already defined in {sources[book.key]}; "
                    "give it another key."
                )
            try:
                book.check_against(buyer, milestones.keys)
            except ValueError as exc:
                raise MethodologyError(f"{path}: {exc}") from None
            playbooks[book.key] = book
            sources[book.key] = path
    if not playbooks:
        raise MethodologyError(f"No playbook found in {', '.join(map(str, playbook_dirs))}.")
    defaults = [k for k, p in playbooks.items() if p.default]
    if len(defaults) > 1:
        raise MethodologyError(
            f"More than one playbook says default = true ({', '.join(defaults)}); keep one."
        )
    return Methodology(
        buyer,
        playbooks,
        milestones=milestones,
        evaluation=evaluation,
        priority=priority,
        risks=risks,
        buying_centre=buying_centre,
        accounts=load_account_models(model_override_dir),
    )


_current: Methodology | None = None


def load() -> Methodology:
    global _current
    override = getattr(settings, "KAM_MODEL_OVERRIDE_DIR", None)
    _current = build(
        [Path(p) for p in settings.KAM_PLAYBOOK_DIRS],
        model_override_dir=Path(override) if override else None,
    )
    return _current


def current() -> Methodology:
    return _current if _current is not None else load()


def playbook(key: str) -> Playbook:
    return current().playbooks[key]


def playbook_keys() -> list[str]:
    return list(current().playbooks)


def default_playbook_key() -> str:
    return current().default_playbook_key


def buyer_process() -> BuyerProcess:
    return current().buyer
