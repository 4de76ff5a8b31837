"""Domain errors that views and the API turn into clear messages."""

from django.core.exceptions import PermissionDenied, ValidationError

__all__ = ["DomainError", "OutOfScope", "PermissionDenied", "ValidationError"]


class DomainError(Exception):
    """A rule of the domain refused the operation; the message is for the user."""


class OutOfScope(PermissionDenied):
    """The target lies outside the acting user's jurisdiction."""
