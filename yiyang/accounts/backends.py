"""Permissions come from the user's role (see roles.py) and nowhere else; passwords from Django.

Per-user and group permissions are not used, so nothing is read from the database
for a permission check (superusers pass ``User.has_perm`` before any backend).
"""

from django.contrib.auth.backends import ModelBackend

from .roles import PERMISSIONS


class RoleBackend(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        return set(PERMISSIONS.get(user_obj.role, ()))

    def get_user_permissions(self, user_obj, obj=None):
        return set()

    def get_group_permissions(self, user_obj, obj=None):
        return set()

    def has_perm(self, user_obj, perm, obj=None):
        return user_obj.is_active and perm in self.get_all_permissions(user_obj, obj)
