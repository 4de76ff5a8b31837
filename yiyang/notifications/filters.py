"""The notification list's filters: by state, channel and what it is about."""

import django_filters as filters
from django.utils.translation import gettext_lazy as _

from yiyang.core.filters import PageFilterMixin
from yiyang.core.forms import FilterForm

from .models import Channel, Notification, State


class NotificationFilter(PageFilterMixin, filters.FilterSet):
    state = filters.ChoiceFilter(label=_("state"), choices=State.choices)
    channel = filters.ChoiceFilter(label=_("channel"), choices=Channel.choices)
    subject = filters.CharFilter(label=_("about"), lookup_expr="istartswith",
                                 help_text=_('e.g. "alarm:123", or "alarm:" for all alarms'))

    class Meta:
        model = Notification
        fields = ["state", "channel", "subject"]
        form = FilterForm
