"""Managing the accounts of one's jurisdiction: list, create, deactivate (through services)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django_tables2 import RequestConfig

from . import services
from .forms import AccountForm
from .models import User
from .tables import UserTable

manage_required = permission_required("accounts.manage_users", raise_exception=True)


@login_required
@manage_required
def account_list(request):
    users = User.objects.for_user(request.user).select_related("scope_area", "organization")
    table = UserTable(users)
    RequestConfig(request, paginate={"per_page": 100}).configure(table)
    return render(request, "accounts/account_list.html", {"table": table})


@login_required
@manage_required
def account_create(request):
    form = AccountForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.create_user(acting_user=request.user, **form.service_data())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("The account %(username)s is created.") % {"username": user.username})
            return redirect("accounts:list")
    return render(request, "accounts/account_form.html", {"form": form})


@login_required
@manage_required
def account_deactivate(request, pk: int):
    account = services.access_user_by_id(request.user, pk)
    error = None
    if request.method == "POST":
        try:
            services.deactivate_user(account, acting_user=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, _("The account %(username)s is deactivated.") % {"username": account.username})
            return redirect("accounts:list")
    return render(request, "accounts/account_deactivate.html", {"account": account, "error": error})
