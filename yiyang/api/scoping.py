"""Base viewset: every queryset comes from ``Model.objects.for_user``, permissions from the role."""

from rest_framework import permissions, viewsets


class RolePermissions(permissions.DjangoModelPermissions):
    """Model permissions from the role, view included (GET needs ``view_<model>``)."""

    perms_map = {**permissions.DjangoModelPermissions.perms_map, "GET": ["%(app_label)s.view_%(model_name)s"],
                 "HEAD": ["%(app_label)s.view_%(model_name)s"]}


class ScopedViewSetMixin:
    permission_classes = [permissions.IsAuthenticated, RolePermissions]
    base_queryset = None

    def get_queryset(self):
        return self.base_queryset.for_user(self.request.user)


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass
