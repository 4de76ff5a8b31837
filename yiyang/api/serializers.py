"""Serializer helpers shared by the API modules."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject


class SharedFieldsSerializer(serializers.Serializer):
    """A read-only answer serializer whose fields are built and bound once per class.

    DRF deep-copies every declared field for each serializer instance, so that one
    instance may change its fields without touching the others. An answer that
    nobody changes pays that copy on every response: for the order returned by each
    step of the order API it was two thirds of the rendering. Here the fields are
    bound once, to a prototype, and shared (they keep no per-request state: a
    date-time field reads the active time zone when it renders); a method field
    is still asked of the serializer at hand, with its own context. The output is
    exactly DRF's. A class with nested serializers renders the usual way.
    """

    @classmethod
    def _shared_fields(cls) -> list | None:
        if "_shared" not in cls.__dict__:  # per class: a subclass has fields of its own
            fields = list(cls()._readable_fields)
            nested = any(isinstance(field, serializers.BaseSerializer) for field in fields)
            cls._shared = None if nested else fields
        return cls._shared

    def to_representation(self, instance):
        fields = self._shared_fields()
        if fields is None:
            return super().to_representation(instance)
        result = {}
        for field in fields:
            if isinstance(field, serializers.SerializerMethodField):
                result[field.field_name] = getattr(self, field.method_name)(instance)
                continue
            try:
                attribute = field.get_attribute(instance)
            except SkipField:
                continue
            value = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            result[field.field_name] = None if value is None else field.to_representation(attribute)
        return result
