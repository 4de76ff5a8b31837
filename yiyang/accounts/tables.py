import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from .models import User


class UserTable(tables.Table):
    last_login = tables.DateTimeColumn(format="Y-m-d H:i")
    place = tables.Column(verbose_name=_("Jurisdiction"), accessor="pk", orderable=False, empty_values=())
    deactivate = tables.TemplateColumn(
        verbose_name="", orderable=False,
        template_code='{% load i18n %}{% if record.is_active and record.pk != request.user.pk %}'
                      '<a href="{% url "accounts:deactivate" record.pk %}">{% translate "Deactivate" %}</a>{% endif %}')

    class Meta:
        model = User
        fields = ["username", "full_name", "role", "place", "is_active", "last_login"]
        attrs = {"class": "table table-sm table-hover table-striped align-middle", "id": "user-table"}
        empty_text = _("No accounts in your jurisdiction.")

    def render_place(self, record):
        if record.scope_area_id:
            return f"{record.scope_area.name}（{record.scope_area_id}）"
        return record.organization.name if record.organization_id else "—"
