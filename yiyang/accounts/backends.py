"""Permissions come from the user's role (see roles.py); passwords from Django."""

from django.contrib.auth.backends import ModelBackend

from .roles import PERMISSIONS


class RoleBackend(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        return set(PERMISSIONS.get(user_obj.role, ())) | super().get_all_permissions(user_obj)

    def has_perm(self, user_obj, perm, obj=None):
        return user_obj.is_active and perm in self.get_all_permissions(user_obj, obj)
