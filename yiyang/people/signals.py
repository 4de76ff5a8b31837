"""Signals other apps listen to; the registry does not import them.

``eligibility_changed`` says that facts the payroll reads (birth date, death,
move-away, hardship status, ability grade) changed for an elder from a day on,
possibly in the past, so months already paid may need an adjustment.
``elder_moved`` says the elder moved to another village inside the platform.
"""

from django.dispatch import Signal

eligibility_changed = Signal()  # sender, elder, since (date), reason (str), acting_user
elder_moved = Signal()  # sender, move (ResidenceMove), acting_user
