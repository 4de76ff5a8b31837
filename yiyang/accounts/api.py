from rest_framework import serializers

from yiyang.api.scoping import ScopedReadOnlyViewSet

from .models import User


class UserSerializer(serializers.ModelSerializer):
    scope_area_code = serializers.CharField(source="scope_area_id", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "full_name", "role", "scope_area_code", "organization", "is_active"]


class UserViewSet(ScopedReadOnlyViewSet):
    """Accounts within the caller's jurisdiction (needs the user-management permission)."""

    serializer_class = UserSerializer
    base_queryset = User.objects.select_related("scope_area")
    filterset_fields = ["role"]

    def get_queryset(self):
        if not self.request.user.has_perm("accounts.manage_users"):
            return User.objects.none()
        return super().get_queryset()
