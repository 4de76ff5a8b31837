from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from yiyang.accounts.api import UserViewSet
from yiyang.alarms.api import AlarmViewSet, DeviceViewSet, GeofenceViewSet
from yiyang.areas.api import AreaViewSet
from yiyang.assessments.api import AssessmentViewSet, ScoreView
from yiyang.benefits.api import (
    ApplicationViewSet,
    BankReturnsView,
    PayeeAccountView,
    PayrollAnomaliesView,
    PayrollRunViewSet,
    PayrollSummaryView,
    ProgrammeViewSet,
    SurvivalCertificationView,
)
from yiyang.core.api import AuditEntryViewSet
from yiyang.homecare.api import ServiceOrderViewSet, ServiceTypeViewSet, WorkerViewSet
from yiyang.homecare.api_hotline import CallEndView, CallStartView
from yiyang.notifications.api import NotificationViewSet, ReceiptView
from yiyang.organizations.api import OrganizationViewSet
from yiyang.people.api import ElderViewSet

from .views import TokenLoginView

router = DefaultRouter(trailing_slash=True)
# No ".json" suffix routes: ?format=json does the same, and every custom @action would need a format argument.
router.include_format_suffixes = False
router.register("areas", AreaViewSet, basename="area")
router.register("alarms/devices", DeviceViewSet, basename="device")
router.register("alarms/geofences", GeofenceViewSet, basename="geofence")
router.register("alarms", AlarmViewSet, basename="alarm")
router.register("elders", ElderViewSet, basename="elder")
router.register("organizations", OrganizationViewSet, basename="organization")
router.register("users", UserViewSet, basename="user")
router.register("audit", AuditEntryViewSet, basename="auditentry")
router.register("benefits/programmes", ProgrammeViewSet, basename="programme")
router.register("benefits/payroll-runs", PayrollRunViewSet, basename="payrollrun")
router.register("benefits/applications", ApplicationViewSet, basename="benefitapplication")
# The explicit "assessments/score" path below comes before the router and the viewset's ids are digits.
router.register("assessments", AssessmentViewSet, basename="assessment")
router.register("homecare/orders", ServiceOrderViewSet, basename="serviceorder")
router.register("homecare/services", ServiceTypeViewSet, basename="servicetype")
router.register("homecare/workers", WorkerViewSet, basename="worker")
router.register("notifications", NotificationViewSet, basename="notification")

urlpatterns = [
    path("auth/token", TokenLoginView.as_view(), name="api-token"),
    path("assessments/score", ScoreView.as_view(), name="assessment-score"),
    path("benefits/payroll/<str:month>/summary", PayrollSummaryView.as_view(), name="payroll-summary"),
    path("benefits/payroll/<str:month>/anomalies", PayrollAnomaliesView.as_view(), name="payroll-anomalies"),
    path("benefits/elders/<int:elder_id>/payee-account/", PayeeAccountView.as_view(), name="payee-account"),
    path("benefits/elders/<int:elder_id>/survival-certifications/", SurvivalCertificationView.as_view(),
         name="survival-certifications"),
    path("benefits/bank-returns/", BankReturnsView.as_view(), name="bank-returns"),
    path("homecare/calls/", CallStartView.as_view(), name="homecare-call-start"),
    path("homecare/calls/<int:call_id>/end/", CallEndView.as_view(), name="homecare-call-end"),
    path("notifications/receipts/", ReceiptView.as_view(), name="notification-receipts"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include(router.urls)),
]
