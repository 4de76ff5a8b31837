"""Elder registry API: scoped, masked, writes through services."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from yiyang.api.scoping import ScopedViewSetMixin

from . import services
from .filters import ElderFilter
from .models import Contact, Elder, HardshipStatus


class HardshipSerializer(serializers.ModelSerializer):
    class Meta:
        model = HardshipStatus
        fields = ["id", "category", "start_date", "end_date", "source", "evidence"]


class ContactSerializer(serializers.ModelSerializer):
    phone = serializers.CharField(source="phone_masked")

    class Meta:
        model = Contact
        fields = ["id", "name", "relation", "phone", "is_guardian", "is_emergency", "lives_together", "priority"]


class ElderSerializer(serializers.ModelSerializer):
    id_number = serializers.CharField(source="id_number_masked", read_only=True)
    phone = serializers.CharField(source="phone_masked", read_only=True)
    area_code = serializers.CharField(source="area_id", read_only=True)

    class Meta:
        model = Elder
        fields = [
            "id", "name", "id_number", "birth_date", "sex", "phone", "area_code", "address", "latitude", "longitude",
            "hukou_area_code", "living_arrangement", "status", "death_date", "moved_away_date", "moved_to",
            "family_doctor", "family_doctor_signed_on", "id_converted_from_15", "created_at", "updated_at",
        ]
        read_only_fields = fields


class ElderDetailSerializer(ElderSerializer):
    hardships = HardshipSerializer(many=True, read_only=True)
    contacts = ContactSerializer(many=True, read_only=True)

    class Meta(ElderSerializer.Meta):
        fields = [*ElderSerializer.Meta.fields, "hardships", "contacts"]
        read_only_fields = fields


class ElderWriteSerializer(serializers.Serializer):
    """Input for create and update; validation itself is the registry's (people.validation)."""

    name = serializers.CharField(required=False)
    # Write-only: the browsable API renders this serializer with the instance (PATCH form),
    # which would otherwise show the clear ID number and phone without a reveal.
    id_number = serializers.CharField(required=False, write_only=True)
    area_code = serializers.CharField(required=False)
    phone = serializers.CharField(required=False, allow_blank=True, write_only=True)
    address = serializers.CharField(required=False, allow_blank=True)
    latitude = serializers.FloatField(required=False, allow_null=True)
    longitude = serializers.FloatField(required=False, allow_null=True)
    hukou_area_code = serializers.CharField(required=False, allow_blank=True)
    living_arrangement = serializers.CharField(required=False, allow_blank=True)
    status = serializers.CharField(required=False)
    death_date = serializers.CharField(required=False, allow_null=True)
    moved_away_date = serializers.CharField(required=False, allow_null=True)
    moved_to = serializers.CharField(required=False, allow_blank=True)
    family_doctor = serializers.CharField(required=False, allow_blank=True)


class ElderViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                   mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Elders in the caller's jurisdiction. ID numbers and phones are masked; use ``reveal`` when entitled."""

    base_queryset = Elder.objects.select_related("area")
    filterset_class = ElderFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        qs = super().get_queryset().order_by("id")
        if self.action == "retrieve":
            qs = qs.prefetch_related("hardships", "contacts")
        return qs

    def get_serializer_class(self):
        if self.action in ("create", "partial_update"):
            return ElderWriteSerializer
        return ElderDetailSerializer if self.action == "retrieve" else ElderSerializer

    def _write(self, save):
        incoming = ElderWriteSerializer(data=self.request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        try:
            elder = save(dict(incoming.validated_data))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return ElderDetailSerializer(elder, context=self.get_serializer_context()).data

    @extend_schema(request=ElderWriteSerializer, responses={201: ElderDetailSerializer})
    def create(self, request, *args, **kwargs):
        data = self._write(lambda d: services.register_elder(acting_user=request.user, data=d))
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ElderWriteSerializer, responses={200: ElderDetailSerializer})
    def partial_update(self, request, *args, **kwargs):
        elder = self.get_object()
        return Response(self._write(lambda d: services.update_elder(elder, acting_user=request.user, data=d)))

    @extend_schema(
        request=inline_serializer("RevealRequest", {"field": serializers.ChoiceField(choices=sorted(services.REVEALABLE)),
                                                    "reason": serializers.CharField(required=False)}),
        responses={200: inline_serializer("RevealResponse", {"field": serializers.CharField(), "value": serializers.CharField()})},
    )
    # Not the add permission POST would ask for: revealing is a read, and the service checks
    # people.reveal_personal_data (hotline agents have it but may not add elders).
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def reveal(self, request, pk=None, **kwargs):  # kwargs: the router's format suffix (reveal.json)
        """Show one personal-data value in clear (audited; needs the reveal permission)."""
        elder = self.get_object()
        field = request.data.get("field", "id_number")
        value = services.reveal(elder, field, acting_user=request.user, reason=request.data.get("reason", ""))
        return Response({"field": field, "value": value})

    @extend_schema(
        request=inline_serializer("MoveRequest", {"to_area_code": serializers.CharField(),
                                                  "moved_on": serializers.DateField(),
                                                  "address": serializers.CharField(required=False)}),
        responses={201: inline_serializer("MoveResponse", {
            "elder": serializers.IntegerField(), "from_area_code": serializers.CharField(),
            "to_area_code": serializers.CharField(), "moved_on": serializers.DateField()})},
    )
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None, **kwargs):
        """Record a move to another village of the platform (费随人走); benefits follow the elder."""
        elder = self.get_object()
        try:
            move = services.move_within_platform(elder, acting_user=request.user,
                                                 to_area_code=str(request.data.get("to_area_code", "")),
                                                 moved_on=request.data.get("moved_on"),
                                                 address=str(request.data.get("address", "")))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return Response({"elder": elder.pk, "from_area_code": move.from_area_id, "to_area_code": move.to_area_id,
                         "moved_on": move.moved_on.isoformat()}, status=status.HTTP_201_CREATED)
