from django_filters import rest_framework as filters
from rest_framework import serializers

from yiyang.api.scoping import ScopedReadOnlyViewSet

from .models import Area


class AreaSerializer(serializers.ModelSerializer):
    class Meta:
        model = Area
        fields = ["code", "name", "level", "parent", "is_urban", "latitude", "longitude"]


class AreaFilter(filters.FilterSet):
    parent = filters.CharFilter(field_name="parent_id")

    class Meta:
        model = Area
        fields = ["parent", "level"]


class AreaViewSet(ScopedReadOnlyViewSet):
    """Divisions. With ``?parent=<code>`` the children of that division; without, the caller's top area(s)."""

    serializer_class = AreaSerializer
    filterset_class = AreaFilter
    base_queryset = Area.objects.all()
    lookup_field = "code"

    def get_queryset(self):
        qs = super().get_queryset().order_by("code")
        if self.action == "list" and "parent" not in self.request.query_params and "level" not in self.request.query_params:
            user = self.request.user
            if user.is_superuser:
                return qs.filter(parent__isnull=True)
            code = user.scope_code
            return qs.filter(code=code) if code else qs.none()
        return qs
