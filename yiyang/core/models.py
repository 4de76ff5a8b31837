"""The append-only audit log."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .scoping import ScopedQuerySet, ScopePolicy


class AuditAction(models.TextChoices):
    CREATE = "create", _("Create")
    UPDATE = "update", _("Update")
    DELETE = "delete", _("Delete")
    REVEAL = "reveal", _("Reveal personal data")
    IMPORT = "import", _("Import")
    EXPORT = "export", _("Export")
    LOGIN = "login", _("Log in")


class AuditEntryError(Exception):
    """Raised on any attempt to change or remove an audit entry."""


class AuditQuerySet(ScopedQuerySet):
    """Bulk update and delete are refused too, not only the instance methods."""

    def update(self, **kwargs):
        raise AuditEntryError("audit entries are append-only")

    def delete(self):
        raise AuditEntryError("audit entries are append-only")


class AuditEntry(models.Model):
    """One thing someone did: who, when, what, before/after, from where.

    Rows are never updated or deleted (enforced here and, on PostgreSQL, by a
    trigger), so the log can be trusted by an inspector.
    """

    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("actor"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField(_("actor name"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=16, choices=AuditAction.choices)
    object_type = models.CharField(_("object type"), max_length=64)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_label = models.CharField(_("object"), max_length=200, blank=True)
    area_code = models.CharField(_("area code"), max_length=12, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    client_address = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    request_id = models.CharField(_("request id"), max_length=32, blank=True)
    channel = models.CharField(_("channel"), max_length=8, blank=True)

    objects = AuditQuerySet.as_manager()
    scope = ScopePolicy(area="area_code")

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-id"]
        # Scoping reads area codes by range (core.scoping), so a plain b-tree index serves;
        # db_index on a CharField would add an unused LIKE index to every audited write.
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["area_code"], name="audit_area_code"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_label}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AuditEntryError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditEntryError("audit entries are append-only")
