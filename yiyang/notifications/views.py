"""Pages for officials and hotline agents: outbound notifications in their jurisdiction.

Rows come from ``for_user`` (another county's notification is a 404); phone
numbers are shown masked only. Nothing here sends or changes anything.
"""

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, render
from django_tables2 import RequestConfig

from yiyang.web.htmx import render_list

from .filters import NotificationFilter
from .models import Notification
from .tables import NotificationTable, state_badge

PER_PAGE = 50
can_view = permission_required("notifications.view_notification", raise_exception=True)


@login_required
@can_view
def notification_list(request):
    queryset = Notification.objects.for_user(request.user)
    filterset = NotificationFilter(request.GET, queryset=queryset)
    table = NotificationTable(filterset.qs)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render_list(request, "notifications/list.html", "notifications/_results.html",
                       {"filter": filterset, "table": table})


@login_required
@can_view
def notification_detail(request, pk: int):
    notification = get_object_or_404(Notification.objects.for_user(request.user), pk=pk)
    return render(request, "notifications/detail.html", {
        "notification": notification, "state": state_badge(notification),
        "attempts": notification.attempt_log.order_by("at", "id")})
