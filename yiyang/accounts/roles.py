"""Roles, what each may do, and what kind of scope each works in.

Policy is code here because it is the platform's security model, reviewed like
code; cities differ in settings (tiers, prices), not in who may reveal an ID.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CITY_OFFICIAL = "city_official", _("city official")
    COUNTY_OFFICIAL = "county_official", _("county official")
    TOWNSHIP_OFFICIAL = "township_official", _("township official")
    VILLAGE_OFFICIAL = "village_official", _("village official")
    HOTLINE_AGENT = "hotline_agent", _("12349 hotline agent")
    PROVIDER_DISPATCHER = "provider_dispatcher", _("provider dispatcher")
    CAREGIVER = "caregiver", _("caregiver")
    INSTITUTION_OPERATOR = "institution_operator", _("institution operator")
    ASSESSOR = "assessor", _("assessor")
    INSPECTOR = "inspector", _("inspector")
    VOLUNTEER = "volunteer", _("volunteer")
    ELDER = "elder", _("elder or family member")


OFFICIALS = {Role.CITY_OFFICIAL, Role.COUNTY_OFFICIAL, Role.TOWNSHIP_OFFICIAL, Role.VILLAGE_OFFICIAL}
AREA_ROLES = OFFICIALS | {Role.HOTLINE_AGENT, Role.ASSESSOR, Role.INSPECTOR}
ORGANIZATION_ROLES = {Role.PROVIDER_DISPATCHER, Role.CAREGIVER, Role.INSTITUTION_OPERATOR, Role.VOLUNTEER}

# The area level an official's scope must be at (length of the code).
OFFICIAL_SCOPE_LENGTH = {
    Role.CITY_OFFICIAL: 4,
    Role.COUNTY_OFFICIAL: 6,
    Role.TOWNSHIP_OFFICIAL: 9,
    Role.VILLAGE_OFFICIAL: 12,
}


def scope_kind(role: str) -> str:
    if role in AREA_ROLES:
        return "area"
    if role in ORGANIZATION_ROLES:
        return "organization"
    return "self"


_REGISTRY_READ = {"people.view_elder", "areas.view_area", "organizations.view_organization"}
_REGISTRY_WRITE = {"people.add_elder", "people.change_elder", "people.import_elders", "people.export_elders"}
_BENEFITS_READ = {"benefits.view_programme", "benefits.view_payrollrun", "benefits.view_paymentline",
                  "benefits.view_voucheraccount"}
# Home care (居家上门服务). Voucher draws happen inside the order service (no separate permission).
_CARE_READ = {"homecare.view_servicetype", "homecare.view_serviceorder", "homecare.view_orderevent",
              "homecare.view_providerprofile", "homecare.view_worker", "homecare.view_rating",
              "homecare.view_complaint", "homecare.view_familycarebed", "homecare.view_serviceplan",
              "homecare.view_settlement"}
_CARE_CALLER = {"homecare.add_serviceorder", "homecare.confirm_order", "homecare.add_rating",
                "homecare.add_complaint"}
_CARE_OFFICIAL = (_CARE_READ | _CARE_CALLER | {"homecare.change_complaint", "homecare.add_serviceplan",
                                               "homecare.view_followupcall", "homecare.view_callrecord"})
_CARE_COUNTY = _CARE_OFFICIAL | {"homecare.add_settlement", "homecare.add_familycarebed",
                                 "homecare.change_familycarebed"}
_HOTLINE = (_CARE_READ | _CARE_CALLER | {"homecare.add_callrecord", "homecare.view_callrecord",
                                         "homecare.change_followupcall", "homecare.view_followupcall"})
# Emergency alarms: officials and the hotline answer them; city/county/township register devices.
_ALARMS = {"alarms.view_alarm", "alarms.handle_alarm", "alarms.view_device",
           "notifications.view_notification"}  # what was sent to whom about an alarm
_DEVICES = {"alarms.add_device", "alarms.change_device"}
_DISPATCH = (_CARE_READ | {"homecare.dispatch_order", "homecare.add_serviceorder", "homecare.add_worker",
                           "homecare.change_worker", "homecare.add_shift", "homecare.add_serviceplan",
                           "homecare.change_settlement"})
_OFFICIAL = (
    _REGISTRY_READ
    | _REGISTRY_WRITE
    | {"people.reveal_personal_data", "core.view_auditentry", "accounts.manage_users", "accounts.view_user"}
    | _BENEFITS_READ
)
_PAYROLL = {"benefits.run_payroll", "benefits.approve_payroll", "benefits.view_suspension",
            "benefits.add_programme"}
# Suspending and resuming one elder's payments (停发/恢复): county officials.
_SUSPEND = {"benefits.add_suspension", "benefits.change_suspension"}
# Payee accounts and bank files (county and city): setting an account also needs people.change_elder.
_BANK = {"benefits.view_payeeaccount", "benefits.add_payeeaccount", "benefits.view_bankbatch"}
# Benefit applications: officials file them on an elder's behalf and review them at their level.
_APPLY = {"benefits.view_application", "benefits.add_application", "benefits.view_entitlement"}
_APPLY_REVIEW = _APPLY | {"benefits.review_application"}
# Survival certification (生存认证): recorded by village, township and county officials (also needs
# people.change_elder); the city sees them.
_SURVIVAL_VIEW = {"benefits.view_survivalcertification"}
_SURVIVAL = _SURVIVAL_VIEW | {"benefits.add_survivalcertification"}
# Ability assessment: request (add), assign assessors, record (assessors), review (county/township);
# qualifications and settings (city/county).
_ASSESS_REQUEST = {"assessments.view_assessment", "assessments.add_assessment"}
_ASSESS_MANAGE = _ASSESS_REQUEST | {"assessments.assign_assessment"}
_ASSESS_REVIEW = _ASSESS_MANAGE | {"assessments.review_assessment"}
_ASSESS_SETTINGS = {"assessments.change_assessor", "assessments.change_assessmentpolicy"}

PERMISSIONS: dict[str, frozenset[str]] = {
    Role.CITY_OFFICIAL: frozenset(_OFFICIAL | _PAYROLL | _BANK | {"organizations.change_organization"} | _ASSESS_MANAGE | _ASSESS_SETTINGS
                                  | _APPLY_REVIEW | _SURVIVAL_VIEW | _CARE_COUNTY | {"homecare.change_servicetype"}
                                  | _ALARMS | _DEVICES | {"alarms.change_escalationstep"}),
    # A county's officials may give the county its own escalation ladder (ladder.may_edit keeps them to it).
    Role.COUNTY_OFFICIAL: frozenset(_OFFICIAL | _PAYROLL | _SUSPEND | _BANK | {"organizations.change_organization"} | _ASSESS_REVIEW | _ASSESS_SETTINGS
                                    | _APPLY_REVIEW | _SURVIVAL | _CARE_COUNTY | _ALARMS | _DEVICES
                                    | {"alarms.change_escalationstep"}),
    Role.TOWNSHIP_OFFICIAL: frozenset(_OFFICIAL | _ASSESS_REVIEW | _APPLY_REVIEW | _SURVIVAL | _CARE_OFFICIAL
                                      | _ALARMS | _DEVICES),
    # Village officials know where their elders walk: they draw the safe zones (电子围栏).
    Role.VILLAGE_OFFICIAL: frozenset((_OFFICIAL - {"accounts.manage_users", "accounts.view_user"}) | _ASSESS_REQUEST | _APPLY_REVIEW | _SURVIVAL
                                     | _CARE_OFFICIAL | _ALARMS | {"alarms.change_geofence"}),
    Role.HOTLINE_AGENT: frozenset(_REGISTRY_READ | {"people.reveal_personal_data"} | _HOTLINE | _ALARMS),
    Role.ASSESSOR: frozenset(_REGISTRY_READ | {"assessments.view_assessment", "assessments.record_assessment"}),
    Role.INSPECTOR: frozenset({"areas.view_area", "organizations.view_organization", "core.view_auditentry"}),
    Role.PROVIDER_DISPATCHER: frozenset({"areas.view_area", "organizations.view_organization"} | _DISPATCH),
    Role.CAREGIVER: frozenset({"areas.view_area", "homecare.view_serviceorder", "homecare.view_servicetype",
                               "homecare.perform_order"}),
    Role.INSTITUTION_OPERATOR: frozenset({"areas.view_area", "organizations.view_organization"} | _DISPATCH),
    Role.VOLUNTEER: frozenset({"areas.view_area"}),
    Role.ELDER: frozenset({"people.view_elder", "benefits.view_voucheraccount", "homecare.view_serviceorder",
                           "homecare.view_servicetype"} | _CARE_CALLER | _ASSESS_REQUEST | _APPLY),
}

# Which roles an official may hand out: never one wider than their own.
GRANTABLE = {
    Role.CITY_OFFICIAL: set(Role) - {Role.CITY_OFFICIAL},
    Role.COUNTY_OFFICIAL: set(Role) - {Role.CITY_OFFICIAL, Role.COUNTY_OFFICIAL},
    Role.TOWNSHIP_OFFICIAL: {Role.VILLAGE_OFFICIAL, Role.CAREGIVER, Role.VOLUNTEER, Role.ELDER},
}
