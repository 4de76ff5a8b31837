from django.urls import path

from . import views

app_name = "assessments"

urlpatterns = [
    path("", views.assessment_list, name="list"),
    path("new/", views.assessment_request, name="request"),
    path("<int:pk>/", views.assessment_detail, name="detail"),
    path("<int:pk>/assign/", views.assessment_assign, name="assign"),
    path("<int:pk>/review/", views.assessment_review, name="review"),
    path("<int:pk>/cancel/", views.assessment_cancel, name="cancel"),
    path("<int:pk>/request-review/", views.assessment_request_review, name="request_review"),
    path("<int:pk>/form/", views.assessment_form, name="form"),
    path("<int:pk>/form/score/", views.live_score, name="score"),
]
