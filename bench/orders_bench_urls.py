"""The real URLs plus ``/bench/bare-orders/``: the baseline the order API is measured against.

The bare endpoint is what plain DRF does for the same row: the same token
authentication, a ModelSerializer, one INSERT. No jurisdiction, no domain
validation, no order event, no audit entry, no state machine.
"""

from django.urls import include, path
from rest_framework import generics, permissions, serializers
from rest_framework.authentication import TokenAuthentication

from yiyang.homecare.models import ServiceOrder


class BareOrderSerializer(serializers.ModelSerializer):
    class Meta:
        model = ServiceOrder
        fields = ["id", "elder", "service_type", "provider", "status", "channel", "window_start", "window_end",
                  "duration_minutes", "price_fen", "payer", "note"]


class BareOrderCreate(generics.CreateAPIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]
    queryset = ServiceOrder.objects.all()
    serializer_class = BareOrderSerializer


urlpatterns = [
    path("bench/bare-orders/", BareOrderCreate.as_view(), name="bench-bare-orders"),
    path("", include("yiyang.urls")),
]
