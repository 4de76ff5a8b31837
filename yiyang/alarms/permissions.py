"""Who may read and handle alarms and register devices: the role table (accounts/roles.py) decides."""

from __future__ import annotations

from rest_framework import permissions

VIEW_ALARMS = "alarms.view_alarm"
HANDLE_ALARMS = "alarms.handle_alarm"
ADD_DEVICE = "alarms.add_device"
CHANGE_DEVICE = "alarms.change_device"

def has(user, perm: str) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.has_perm(perm)


class CanViewAlarms(permissions.BasePermission):
    def has_permission(self, request, view):
        return has(request.user, VIEW_ALARMS)
