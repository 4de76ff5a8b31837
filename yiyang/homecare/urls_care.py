"""Home-care pages (care): an elder's plans and bed, beds, follow-up calls, complaints, settlements."""

from django.urls import path

from . import views_care as views

urlpatterns = [
    path("", views.index, name="care_index"),
    path("elders/<int:elder_id>/", views.elder_care, name="care_elder"),
    path("elders/<int:elder_id>/plans/", views.plan_create, name="care_plan_create"),
    path("elders/<int:elder_id>/plans/<int:plan_id>/end/", views.plan_end, name="care_plan_end"),
    path("elders/<int:elder_id>/bed/", views.bed_open, name="care_bed_open"),
    path("beds/", views.bed_list, name="care_beds"),
    path("beds/<int:bed_id>/end/", views.bed_end, name="care_bed_end"),
    path("follow-ups/", views.follow_ups, name="care_follow_ups"),
    path("follow-ups/sample/", views.follow_up_sample, name="care_follow_up_sample"),
    path("follow-ups/<int:call_id>/", views.follow_up_record, name="care_follow_up_record"),
    path("complaints/", views.complaint_list, name="care_complaints"),
    path("complaints/<int:complaint_id>/handle/", views.complaint_handle, name="care_complaint_handle"),
    path("settlements/", views.settlement_list, name="care_settlements"),
    path("settlements/settle/", views.settle, name="care_settle"),
    path("settlements/<int:settlement_id>/", views.settlement_detail, name="care_settlement"),
    path("settlements/<int:settlement_id>/statement/", views.statement, name="care_statement"),
    path("settlements/<int:settlement_id>/dispute/", views.settlement_dispute, name="care_settlement_dispute"),
    path("settlements/<int:settlement_id>/accept/", views.settlement_accept, name="care_settlement_accept"),
]
