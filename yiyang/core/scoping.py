"""Jurisdiction: the one place that decides which rows a user may read.

Every scoped model declares a :class:`ScopePolicy` saying how its rows relate
to an area code, an organisation and an elder. ``Model.objects.for_user(user)``
applies it; pages, API, exports, search and reports read only through it.

Area codes are digit strings whose prefix is the parent division, so "inside
scope S" is the range ``S <= code <= S99…9`` on a plain b-tree index (no LIKE,
no join, the same on SQLite and PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import models
from django.db.models import Q

AREA_CODE_LENGTH = 12


@dataclass(frozen=True)
class ScopePolicy:
    """How a model's rows are placed in the jurisdiction tree.

    area: path to a 12-digit (or shorter) area code, e.g. "area" or "elder__area".
    organization: path to the owning organisation's pk, for organisation staff.
    elder: path to the elder, for elders and families with a portal account.
    """

    area: str | None = None
    organization: str | None = None
    elder: str | None = None


def area_prefix_q(path: str, prefix: str) -> Q:
    """Rows whose area code at ``path`` starts with ``prefix``."""
    if not prefix:
        return Q()
    return Q(**{f"{path}__gte": prefix, f"{path}__lte": prefix.ljust(AREA_CODE_LENGTH, "9")})


def code_in_scope(code: str | None, prefix: str | None) -> bool:
    return bool(code) and bool(prefix) and code.startswith(prefix)


def restrict(queryset: models.QuerySet, user) -> models.QuerySet:
    """Limit ``queryset`` to what ``user`` may see; nothing when in doubt."""
    policy: ScopePolicy | None = getattr(queryset.model, "scope", None)
    if policy is None:
        raise TypeError(f"{queryset.model.__name__} has no scope policy")
    if user is None or not user.is_authenticated or not user.is_active:
        return queryset.none()
    if user.is_superuser:
        return queryset
    kind = user.scope_kind
    if kind == "area" and policy.area and user.scope_area_id:
        return queryset.filter(area_prefix_q(policy.area, user.scope_area_id))
    if kind == "organization" and policy.organization and user.organization_id:
        return queryset.filter(**{policy.organization: user.organization_id})
    if kind == "self" and policy.elder:
        access = apps.get_model("people", "ElderAccess").objects.filter(user=user).values("elder_id")
        return queryset.filter(**{f"{policy.elder}__in": access})
    return queryset.none()


class ScopedQuerySet(models.QuerySet):
    def for_user(self, user) -> models.QuerySet:
        return restrict(self, user)


ScopedManager = models.Manager.from_queryset(ScopedQuerySet)
