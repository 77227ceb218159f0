"""The buying-centre map of the opportunity page (采购组织分析, SPEC §4 and §9).

`map_data` turns the account's contacts (the org chart, by reports_to) and the deal's
stakeholders into plain data: a tree whose nodes carry everything the map draws —
stance colour, size, the coach and key-person marks, the person who left, the DISC
tip — plus the "for us / for a rival / undecided" lists and the key persons of the
customer's current buying stage. The page puts it in a JSON block and
`static/kam/buying_centre.js` draws it with ECharts; the template renders the lists
and the table from the same data, so nothing depends on the script.

Pure apart from gettext (labels in the active language) and the methodology registry
(the DISC approaches) when no DISC model is passed in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from kam.methodology.checks import ROLE_NAMES
from kam.stakeholders.models import Role, Stance

# Stance → (fill, text colour). Dark fills carry white text; the light ones dark text.
STANCE_STYLE: dict[str, tuple[str, str]] = {
    Stance.CHAMPION: ("#17663f", "#ffffff"),  # dark green
    Stance.SUPPORTER: ("#a6dcb4", "#0f3d24"),  # light green
    Stance.NEUTRAL: ("#5f7a99", "#ffffff"),  # grey-blue
    Stance.ENEMY: ("#f59a35", "#3b1d00"),  # orange
    Stance.BLOCKER: ("#c3221a", "#ffffff"),  # red
    Stance.UNKNOWN: ("#e4e7ec", "#344054"),  # light grey (and a "?")
}
OUTSIDE_STYLE = ("#ffffff", "#475467")  # people not in this deal's buying centre
GROUP_STYLE = ("#1d4e89", "#ffffff")  # the account (the virtual root)
EXTERNAL_STYLE = ("#eef2f7", "#1d4e89")  # the branch of the people outside the account

SIDES = {
    Stance.CHAMPION: "for_us",
    Stance.SUPPORTER: "for_us",
    Stance.ENEMY: "for_rival",
    Stance.BLOCKER: "for_rival",
    Stance.NEUTRAL: "undecided",
    Stance.UNKNOWN: "undecided",
}

# Node sizes (card width, height) in pixels: a key person now is drawn bigger.
SIZE_OUTSIDE = (112, 40)
SIZE_MEMBER = (144, 58)
SIZE_KEY = (156, 66)
SIZE_GROUP = (144, 36)
BORDER_KEY = 4
BORDER_COACH = 3
BORDER_MEMBER = 1
COACH_RING = "#f0a300"  # gold
KEY_RING = "#102a4c"  # dark navy

RELATIONSHIP_NAMES = {
    0: gettext_lazy("none"),
    1: gettext_lazy("acquainted"),
    2: gettext_lazy("interacting"),
    3: gettext_lazy("trusting"),
    4: gettext_lazy("ally"),
}

LAYER_RANK = {"decision": 0, "management": 1, "operation": 2, "": 3}


def relationship_name(level: int | None) -> str:
    if level is None:
        return ""
    name = RELATIONSHIP_NAMES.get(level)
    return f"{level} – {name}" if name is not None else str(level)


def relationship_choices() -> list[tuple[str, str]]:
    return [(str(level), relationship_name(level)) for level in RELATIONSHIP_NAMES]


def _role_label(key: str) -> str:
    return str(dict(Role.choices).get(key, key))


def _list_text(items: Iterable[str], lang: str) -> str:
    sep = "、" if lang.lower().startswith("zh") else ", "
    return sep.join(items)


def _disc_model(disc):
    if disc is not None:
        return disc
    from kam.methodology import registry

    return registry.current().buying_centre.disc


def _person(contact, stakeholder, key_roles: Sequence[str], disc_model, lang: str) -> dict:
    """One contact as the map shows them; `stakeholder` is None outside the centre."""
    left = contact.status == "left"
    letter = (stakeholder.disc if stakeholder is not None else "") or contact.disc or ""
    disc_type = disc_model.get(letter) if letter else None
    node: dict[str, Any] = {
        "id": f"c{contact.pk}",
        "contact_id": contact.pk,
        "name": contact.name,
        "title": contact.title,
        "department": contact.department,
        "left": left,
        "external": bool(contact.is_external),
        "disc": letter,
        "disc_name": disc_type.name.get(lang) if disc_type else "",
        "disc_tip": disc_type.approach.get(lang) if disc_type else "",
        "virtual": False,
    }
    if stakeholder is None:
        fill, ink = OUTSIDE_STYLE
        node.update(
            stakeholder_id=None,
            in_centre=False,
            stance="",
            stance_name="",
            side="",
            roles=[],
            role_names="",
            coach=False,
            key=False,
            key_roles=[],
            influence=None,
            relationship=None,
            relationship_name="",
            color=fill,
            text_color=ink,
            border_color="#98a2b3",
            border_width=BORDER_MEMBER,
            size=list(SIZE_OUTSIDE),
        )
        return node
    fill, ink = STANCE_STYLE.get(stakeholder.stance, STANCE_STYLE[Stance.UNKNOWN])
    held = [r for r in stakeholder.roles if r in key_roles] if not left else []
    key = bool(held)
    coach = bool(stakeholder.is_coach)
    if coach:
        border_color, border_width = COACH_RING, BORDER_KEY if key else BORDER_COACH
    elif key:
        border_color, border_width = KEY_RING, BORDER_KEY
    else:
        border_color, border_width = "#ffffff", BORDER_MEMBER
    node.update(
        stakeholder_id=stakeholder.pk,
        in_centre=True,
        stance=stakeholder.stance,
        stance_name=str(dict(Stance.choices).get(stakeholder.stance, stakeholder.stance)),
        side=SIDES.get(stakeholder.stance, "undecided"),
        roles=list(stakeholder.roles),
        role_names=_list_text((_role_label(r) for r in stakeholder.roles), lang),
        coach=coach,
        key=key,
        key_roles=held,
        influence=stakeholder.influence,
        relationship=stakeholder.relationship,
        relationship_name=relationship_name(stakeholder.relationship),
        color=fill,
        text_color=ink,
        border_color=border_color,
        border_width=border_width,
        size=list(SIZE_KEY if key else SIZE_MEMBER),
    )
    return node


def _group(node_id: str, name: str) -> dict:
    fill, ink = EXTERNAL_STYLE if node_id == "external" else GROUP_STYLE
    return {
        "id": node_id,
        "name": name,
        "virtual": True,
        "in_centre": False,
        "left": False,
        "external": node_id == "external",
        "color": fill,
        "text_color": ink,
        "border_color": GROUP_STYLE[0],
        "border_width": BORDER_MEMBER,
        "size": list(SIZE_GROUP),
        "children": [],
    }


def _forest(contacts: Sequence, nodes: Mapping[int, dict]) -> list[dict]:
    """The contacts as trees by reports_to, each contact exactly once. A boss outside
    the list (or on the other side of the account boundary) makes a root; people
    caught in a reporting cycle are hung at the top rather than lost."""
    ids = {c.pk for c in contacts}
    external = {c.pk for c in contacts if c.is_external}
    by_boss: dict[int | None, list] = {}
    for c in contacts:
        boss = c.reports_to_id
        if boss not in ids or (boss in external) != (c.pk in external):
            boss = None
        by_boss.setdefault(boss, []).append(c)
    for group in by_boss.values():
        group.sort(key=lambda c: (c.status != "active", LAYER_RANK.get(c.layer, 3), c.name, c.pk))
    seen: set[int] = set()

    def grow(contact) -> dict:
        seen.add(contact.pk)
        node = nodes[contact.pk]
        node["children"] = [grow(c) for c in by_boss.get(contact.pk, []) if c.pk not in seen]
        return node

    roots = [grow(c) for c in by_boss.get(None, []) if c.pk not in seen]
    for c in contacts:  # a cycle has no top: start it at one of its people
        if c.pk not in seen:
            roots.append(grow(c))
    return roots


def _key_persons(
    opp, key_roles: Sequence[str], members: Sequence[dict], lang: str
) -> dict[str, Any]:
    from kam.web import presenters

    rows = []
    for role in key_roles:
        held_by = [m for m in members if role in m["roles"] and not m["left"]]
        rows.append(
            {
                "role": role,
                "name": _(ROLE_NAMES.get(role, role)),
                "holders": [m["name"] for m in held_by],
                "people": [
                    {"name": m["name"], "stance": m["stance"], "stance_name": m["stance_name"]}
                    for m in held_by
                ],
                "held": bool(held_by),
            }
        )
    for row in rows:
        row["holders_text"] = _list_text(row["holders"], lang)
    return {
        "stage": opp.buyer_stage,
        "stage_name": presenters.buyer_stage_name(opp.buyer_stage),
        "roles": rows,
        "role_names": _list_text((r["name"] for r in rows), lang),
        "uncovered": [r["name"] for r in rows if not r["held"]],
    }


def _entry(node: dict) -> dict:
    return {
        key: node[key]
        for key in (
            "stakeholder_id",
            "contact_id",
            "name",
            "title",
            "role_names",
            "stance",
            "stance_name",
            "influence",
            "coach",
            "key",
            "left",
            "color",
        )
    }


def legend() -> list[dict[str, str]]:
    return [
        {
            "stance": key,
            "name": str(label),
            "color": STANCE_STYLE[key][0],
            "text_color": STANCE_STYLE[key][1],
        }
        for key, label in Stance.choices
    ]


def texts() -> dict[str, str]:
    """What the script writes into the map, in the user's language."""
    return {
        "roles": _("Roles"),
        "stance": _("Stance"),
        "disc": _("DISC"),
        "influence": _("Influence"),
        "relationship": _("Relationship"),
        "coach": _("Coach"),
        "key": _("Key person now"),
        "left": pgettext("contact status", "left"),
        "external": _("outside the account"),
        "not_in_centre": _("Not in this deal's buying centre."),
        "click_add": _("Click to add them to the buying centre."),
        "click_edit": _("Click to edit stance and roles."),
        "empty": _(
            "No contacts recorded yet. Start with the people who decide and the people who use."
        ),
    }


def map_data(
    opp,
    stakeholders: Sequence,
    contacts: Sequence,
    key_roles: Sequence[str],
    lang: str,
    *,
    disc=None,
) -> dict[str, Any]:
    """Everything the buying-centre card shows, as JSON-ready data.

    `stakeholders` are the deal's Stakeholder rows (contact loaded), `contacts` every
    contact of the account (left ones too), `key_roles` the roles that matter at the
    customer's current buying stage, `lang` the language of the methodology texts;
    `disc` (letter → DiscType) defaults to the registry's buying-centre model."""
    disc_model = _disc_model(disc)
    by_contact = {s.contact_id: s for s in stakeholders}
    contacts = list(contacts)
    known = {c.pk for c in contacts}
    nodes = {c.pk: _person(c, by_contact.get(c.pk), key_roles, disc_model, lang) for c in contacts}
    # a stakeholder whose contact is not in the list still counts in the lists
    members = [nodes[s.contact_id] for s in stakeholders if s.contact_id in known]
    members += [
        _person(s.contact, s, key_roles, disc_model, lang)
        for s in stakeholders
        if s.contact_id not in known
    ]

    inside = [c for c in contacts if not c.is_external]
    outside = [c for c in contacts if c.is_external]
    tops = _forest(inside, nodes)
    if outside:
        branch = _group("external", _("Outside the account"))
        branch["children"] = _forest(outside, nodes)
        tops.append(branch)
    if not tops:
        tree = None
    elif len(tops) == 1:
        tree = tops[0]
    else:
        tree = _group("account", opp.account.name)
        tree["children"] = tops

    def side(name: str) -> list[dict]:
        # people who left stand nowhere now (the map still shows them, faded), as in
        # the alerts, which count only people still at the account
        rows = [_entry(m) for m in members if m["side"] == name and not m["left"]]
        rows.sort(key=lambda r: (-(r["influence"] or 0), r["left"], r["name"]))
        return rows

    return {
        "tree": tree,
        "empty": tree is None,
        "count": len(contacts),
        "depth": _depth(tree),
        "leaves": _leaves(tree),
        "legend": legend(),
        "key_persons": _key_persons(opp, key_roles, members, lang),
        "for_us": side("for_us"),
        "for_rival": side("for_rival"),
        "undecided": side("undecided"),
        "text": texts(),
    }


def _depth(node: dict | None) -> int:
    if node is None:
        return 0
    return 1 + max((_depth(c) for c in node.get("children", [])), default=0)


def _leaves(node: dict | None) -> int:
    if node is None:
        return 0
    children = node.get("children", [])
    return sum(_leaves(c) for c in children) if children else 1


def nodes_of(tree: dict | None) -> list[dict]:
    """Every node of the tree, depth first (tests and the page's lists use it)."""
    if tree is None:
        return []
    out = [tree]
    for child in tree.get("children", []):
        out.extend(nodes_of(child))
    return out


def page_context(user, opp, stakeholders: Sequence, contacts: Sequence, edit_form=None) -> dict:
    """The buying-centre card's part of the opportunity page: the map data, one edit
    dialog per person (the bound `edit_form` with its errors, opened, in place of its
    blank one) and the table rows."""
    from kam.methodology import registry
    from kam.web import presenters
    from kam.web.process_forms import StakeholderEditForm

    lang = presenters.language()
    model = registry.current().buying_centre
    data = map_data(
        opp, stakeholders, contacts, model.key_roles_at(opp.buyer_stage), lang, disc=model.disc
    )
    data["disc_tips"] = {letter: t.approach.get(lang) for letter, t in model.disc.items()}
    data["disc_names"] = {letter: t.name.get(lang) for letter, t in model.disc.items()}
    by_contact = {n["contact_id"]: n for n in nodes_of(data["tree"]) if not n["virtual"]}
    rows = []
    for s in stakeholders:
        bound = edit_form is not None and edit_form.stakeholder.pk == s.pk
        form = (
            edit_form if bound else StakeholderEditForm(actor=user, opportunity=opp, stakeholder=s)
        )
        node = by_contact.get(s.contact_id, {})
        rows.append(
            {
                "s": s,
                "roles": presenters.role_names(s.roles),
                "stance": presenters.stance_name(s.stance),
                "disc": node.get("disc", s.disc),
                "disc_name": node.get("disc_name", ""),
                "disc_tip": node.get("disc_tip", ""),
                "key": node.get("key", False),
                "relationship": relationship_name(s.relationship),
                "form": form,
                "open": bound,
                "dialog": f"stakeholder-edit-{s.pk}",
            }
        )
    return {"map": data, "centre_rows": rows}
