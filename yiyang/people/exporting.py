"""Elder list export in the roster layout, so an export can be corrected and imported again.

ID numbers and phones are masked unless the user may reveal personal data; every
export is audited (row count, whether values were in clear).
"""

from __future__ import annotations

import io

from django.db.models import Prefetch
from django.utils.translation import gettext as _

from yiyang.core import audit
from yiyang.core.errors import PermissionDenied
from yiyang.core.masking import mask_id_number, mask_phone
from yiyang.core.models import AuditAction

from . import roster
from .models import Contact, Elder, HardshipCategory, HardshipStatus

EXPORT_FIELDS = ["id", "name", "id_number", "birth_date", "sex", "phone", "area_id", "address", "hukou_area_code",
                 "living_arrangement", "status", "death_date"]


def export_elders_xlsx(queryset, *, acting_user) -> bytes:
    """The elders of ``queryset`` the user may see, as a roster workbook (streamed, write-only)."""
    from openpyxl import Workbook

    if not acting_user.has_perm("people.export_elders"):
        raise PermissionDenied(_("You do not have permission to do this."))
    reveal = acting_user.has_perm("people.reveal_personal_data")
    elders = (queryset.for_user(acting_user).only(*EXPORT_FIELDS).order_by("area_id", "name", "id")
              .prefetch_related(Prefetch("hardships", HardshipStatus.objects.filter(end_date__isnull=True)
                                         .exclude(category=HardshipCategory.ADVANCED_AGE).order_by("category"), "open_hardships"),
                                Prefetch("contacts", Contact.objects.filter(is_emergency=True).order_by("priority", "id"),
                                         "emergency_contacts")))
    book = Workbook(write_only=True)
    sheet = book.create_sheet("花名册")
    sheet.append([column.header for column in roster.COLUMNS])
    count = 0
    for count, elder in enumerate(elders.iterator(chunk_size=2000), start=1):
        values = roster_values(elder, reveal=reveal)
        values["seq"] = count
        sheet.append([values.get(column.key, "") for column in roster.COLUMNS])
    audit.record(AuditAction.EXPORT, actor=acting_user, object_type=Elder._meta.label_lower, label=_("Elder roster"),
                 area_code=acting_user.scope_code, after={"rows": count, "revealed": reveal})
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def roster_values(elder: Elder, *, reveal: bool) -> dict:
    """One elder as roster cells (column key -> value); needs the prefetches of export_elders_xlsx."""
    contact = elder.emergency_contacts[0] if elder.emergency_contacts else None
    id_number, phone = (elder.id_number, elder.phone) if reveal else (mask_id_number(elder.id_number), mask_phone(elder.phone))
    contact_phone = (contact.phone if reveal else mask_phone(contact.phone)) if contact else ""
    return {
        "name": elder.name, "id_number": id_number, "sex": roster.SEX.label(elder.sex), "birth_date": elder.birth_date,
        "phone": phone, "area_code": elder.area_id, "address": elder.address, "hukou_area_code": elder.hukou_area_code,
        "living_arrangement": roster.LIVING.label(elder.living_arrangement),
        "hardships": "、".join(roster.HARDSHIP.label(h.category) for h in elder.open_hardships),
        "contact_name": contact.name if contact else "", "contact_phone": contact_phone,
        "contact_relation": roster.RELATION.label(contact.relation) if contact else "",
        "status": roster.STATUS.label(elder.status), "death_date": elder.death_date,
    }
