"""The area browser: from my jurisdiction down to villages, with elder counts."""

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404
from django.shortcuts import redirect, render

from yiyang.people.models import Elder
from yiyang.people.stats import elders_by_area

from . import navigation

view_required = permission_required("areas.view_area", raise_exception=True)


@login_required
@view_required
def area_index(request):
    user = request.user
    if user.scope_kind == "area" and user.scope_code and not user.is_superuser:
        return redirect("areas:detail", code=user.scope_code)
    return render(request, "areas/area_detail.html", _context(user, None))


@login_required
@view_required
def area_detail(request, code: str):
    area = navigation.visible_area(request.user, code)
    if area is None:
        raise Http404
    return render(request, "areas/area_detail.html", _context(request.user, area))


def _context(user, area) -> dict:
    children = navigation.children(user, area.code if area else "").order_by("code")
    return {
        "area": area,
        "breadcrumbs": navigation.breadcrumbs(user, area) if area else [],
        "rows": elders_by_area(Elder.objects.for_user(user), children),
        "can_list_elders": user.has_perm("people.view_elder"),
    }
