from rest_framework import serializers

from yiyang.api.scoping import ScopedReadOnlyViewSet

from .models import Organization


class OrganizationSerializer(serializers.ModelSerializer):
    area_code = serializers.CharField(source="area_id", read_only=True)

    class Meta:
        model = Organization
        fields = ["id", "name", "kind", "area_code", "address", "latitude", "longitude", "phone", "is_active"]


class OrganizationViewSet(ScopedReadOnlyViewSet):
    serializer_class = OrganizationSerializer
    base_queryset = Organization.objects.all()
    filterset_fields = ["kind"]
