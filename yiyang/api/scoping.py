"""Base viewset: every queryset comes from ``Model.objects.for_user``, permissions from the role."""

from rest_framework import permissions, viewsets


class RolePermissions(permissions.DjangoModelPermissions):
    """Model permissions from the role, view included (GET needs ``view_<model>``)."""

    perms_map = {**permissions.DjangoModelPermissions.perms_map, "GET": ["%(app_label)s.view_%(model_name)s"],
                 "HEAD": ["%(app_label)s.view_%(model_name)s"]}

    def _queryset(self, view):
        # Only the model is needed: a scoped view's base queryset names it without building the
        # caller's jurisdiction filter, which DRF would otherwise do once more on every request.
        base = getattr(view, "base_queryset", None)
        return base if base is not None else super()._queryset(view)


class ScopedViewSetMixin:
    permission_classes = [permissions.IsAuthenticated, RolePermissions]
    base_queryset = None

    def get_queryset(self):
        return self.base_queryset.for_user(self.request.user)


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass
