"""Moving around the area tree within a user's jurisdiction: children, breadcrumbs, choices."""

from __future__ import annotations

from django.utils.translation import gettext as _

from yiyang.core.scoping import code_in_scope

from .models import CODE_LENGTH, LEVEL_BY_LENGTH, Area, Level

LENGTHS = sorted(CODE_LENGTH.values())  # 2, 4, 6, 9, 12


def in_scope(user, code: str) -> bool:
    return user.is_superuser or code_in_scope(code, user.scope_code)


def visible_area(user, code: str) -> Area | None:
    """The area if it lies inside ``user``'s scope (ancestors above the scope are not browsable)."""
    if not in_scope(user, code):
        return None
    return Area.objects.for_user(user).filter(code=code).first()


def children(user, code: str):
    """Divisions directly below ``code`` ("" is the top, for administrators)."""
    areas = Area.objects.for_user(user)
    return areas.filter(parent_id=code) if code else areas.filter(parent__isnull=True)


def breadcrumbs(user, area: Area) -> list[Area]:
    """The chain from the user's own area down to ``area``."""
    top = 0 if user.is_superuser else len(user.scope_code)
    codes = [area.code[:n] for n in LENGTHS if top <= n <= len(area.code)]
    return list(Area.objects.for_user(user).filter(code__in=codes).order_by("code"))


def area_choices(user, selected: str = "") -> list[tuple[str, str]]:
    """Areas for a filter select: the two levels below the user's scope, stopping at townships
    unless the user works at township level (a city has thousands of villages)."""
    top = 0 if user.is_superuser else len(user.scope_code)
    lengths = [n for n in LENGTHS if n > top][:2]
    if top < CODE_LENGTH[Level.TOWNSHIP]:
        lengths = [n for n in lengths if n <= CODE_LENGTH[Level.TOWNSHIP]]
    areas = Area.objects.for_user(user).filter(level__in=[LEVEL_BY_LENGTH[n] for n in lengths])
    if not user.is_superuser:
        areas = areas.within(user.scope_code)
    choices = [("", _("All of my jurisdiction"))]
    for area in areas.order_by("code"):
        indent = "\u3000" * lengths.index(len(area.code))
        choices.append((area.code, f"{indent}{area.name}"))
    if selected and selected not in {code for code, _label in choices}:
        area = visible_area(user, selected)
        choices.append((selected, area.name if area else selected))
    return choices
