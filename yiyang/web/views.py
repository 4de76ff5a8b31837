"""The home page (counts for my jurisdiction) and logging in."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from yiyang.areas import navigation
from yiyang.people.models import Elder
from yiyang.people.stats import elders_by_area, registry_summary

from .forms import LoginForm


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


@login_required
def home(request):
    user = request.user
    context = {}
    if user.has_perm("people.view_elder") and (user.is_superuser or user.scope_kind == "area"):
        context["summary"] = registry_summary(user)
        areas = navigation.children(user, user.scope_code)
        context["by_area"] = elders_by_area(Elder.objects.for_user(user), areas)
    return render(request, "web/home.html", context)
