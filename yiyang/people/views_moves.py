"""Moves inside the platform (费随人走): the move page and its village list.

The elder is read through ``services.access_elder_by_id`` (another jurisdiction's
elder is a 404) and the move is written by ``services.move_within_platform``, whose
ValidationError and PermissionDenied messages land on the form; nothing is saved then.
The destination may be any village of the city, so the elder may leave the user's view.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from . import services
from .forms import MoveForm
from .models import Elder, ResidenceMove

change_required = permission_required(("people.view_elder", "people.change_elder"), raise_exception=True)


def elder_moves(user, elder: Elder):
    """The elder's moves within the city that ``user`` may see, oldest first."""
    return (ResidenceMove.objects.for_user(user).filter(elder=elder)
            .select_related("from_area", "to_area", "recorded_by").order_by("moved_on", "id"))


def _record(form: MoveForm, elder: Elder, user) -> ResidenceMove | None:
    try:
        return services.move_within_platform(elder, acting_user=user, **form.service_data())
    except ValidationError as exc:
        form.add_service_errors(exc)
    except PermissionDenied as exc:
        form.add_error(None, str(exc) or _("You do not have permission to do this."))
    return None


@login_required
@change_required
def elder_move(request, pk: int):
    user = request.user
    elder = services.access_elder_by_id(user, pk)
    form = MoveForm(request.POST or None, user=user, elder=elder)
    if request.method == "POST" and form.is_valid():
        move = _record(form, elder, user)
        if move is not None:
            messages.success(request, _("%(name)s now lives in %(village)s (moved on %(date)s).") % {
                "name": elder.name, "village": move.to_area, "date": f"{move.moved_on:%Y-%m-%d}"})
            if Elder.objects.for_user(user).filter(pk=elder.pk).exists():
                return redirect("people:detail", pk=elder.pk)
            return redirect("people:list")  # the elder has left the user's jurisdiction
    return render(request, "people/move.html", {"elder": elder, "form": form, "moves": elder_moves(user, elder)})


@login_required
@change_required
@require_GET
def move_villages(request, pk: int):
    """The village field for the county chosen on the move page (htmx)."""
    elder = services.access_elder_by_id(request.user, pk)
    form = MoveForm(user=request.user, elder=elder, county=request.GET.get("county", ""))
    return render(request, "people/_move_village.html", {"form": form})
