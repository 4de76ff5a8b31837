"""The audit log page (within the reader's jurisdiction)."""

from django.contrib.auth.decorators import login_required, permission_required
from django_tables2 import RequestConfig

from yiyang.web.htmx import render_list

from .filters import AuditFilter
from .models import AuditEntry
from .tables import AuditTable

PER_PAGE = 100


@login_required
@permission_required("core.view_auditentry", raise_exception=True)
def audit_list(request):
    filterset = AuditFilter(request.GET, queryset=AuditEntry.objects.for_user(request.user))
    table = AuditTable(filterset.qs)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render_list(request, "core/audit_list.html", "core/_audit_results.html",
                       {"filter": filterset, "table": table})
