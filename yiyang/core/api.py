from rest_framework import serializers

from yiyang.api.scoping import ScopedReadOnlyViewSet

from .models import AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = ["id", "created_at", "actor_name", "action", "object_type", "object_id", "object_label",
                  "area_code", "before", "after", "note", "client_address", "request_id", "channel"]


class AuditEntryViewSet(ScopedReadOnlyViewSet):
    """The audit log within the caller's jurisdiction (newest first)."""

    serializer_class = AuditEntrySerializer
    base_queryset = AuditEntry.objects.all()
    filterset_fields = ["action", "object_type", "object_id"]
