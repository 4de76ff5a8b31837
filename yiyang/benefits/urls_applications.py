"""Pages for benefit applications (申请), in the ``benefits`` namespace under /benefits/applications/."""

from django.urls import path

from . import views_applications as views

urlpatterns = [
    path("", views.application_list, name="applications"),
    path("new/", views.application_new, name="application_new"),
    path("<int:pk>/", views.application_detail, name="application_detail"),
    path("<int:pk>/review/", views.application_review, name="application_review"),
    path("<int:pk>/resubmit/", views.application_resubmit, name="application_resubmit"),
    path("<int:pk>/withdraw/", views.application_withdraw, name="application_withdraw"),
    path("<int:pk>/documents/", views.application_add_document, name="application_add_document"),
    path("documents/<int:pk>/", views.application_document, name="application_document"),
]
