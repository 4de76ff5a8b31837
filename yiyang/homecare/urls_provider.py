"""Home-care pages (provider): the dispatcher's orders board, workers and day plan; the caregiver's phone pages under me/."""

from django.urls import path

from . import views_day, views_provider, views_worker, views_workforce

urlpatterns = [
    path("", views_provider.provider_orders, name="provider_orders"),
    path("orders/<int:order_id>/accept/", views_provider.order_accept, name="provider_order_accept"),
    path("orders/<int:order_id>/assign/", views_provider.order_assign, name="provider_order_assign"),
    path("orders/<int:order_id>/unassign/", views_provider.order_unassign, name="provider_order_unassign"),
    path("orders/<int:order_id>/cancel/", views_provider.order_cancel, name="provider_order_cancel"),
    path("orders/<int:order_id>/clear-review/", views_provider.order_clear_review, name="provider_order_clear"),
    path("orders/<int:order_id>/photo/", views_provider.order_photo, name="provider_order_photo"),
    path("workers/", views_workforce.workers_page, name="provider_workers"),
    path("workers/add/", views_workforce.worker_add, name="provider_worker_add"),
    path("workers/<int:worker_id>/", views_workforce.worker_page, name="provider_worker"),
    path("workers/<int:worker_id>/skills/", views_workforce.worker_skills, name="provider_worker_skills"),
    path("shifts/add/", views_workforce.shift_add, name="provider_shift_add"),
    path("leave/add/", views_workforce.leave_add, name="provider_leave_add"),
    path("day/", views_day.day_page, name="provider_day"),
    path("day/plan/", views_day.plan_day, name="provider_plan_day"),
    path("me/", views_worker.worker_today, name="worker_today"),
    path("me/orders/<int:order_id>/", views_worker.worker_order, name="worker_order"),
    path("me/orders/<int:order_id>/start-trip/", views_worker.worker_start_trip, name="worker_start_trip"),
    path("me/orders/<int:order_id>/check-in/", views_worker.worker_check_in, name="worker_check_in"),
    path("me/orders/<int:order_id>/check-out/", views_worker.worker_check_out, name="worker_check_out"),
    path("me/orders/<int:order_id>/no-show/", views_worker.worker_no_show, name="worker_no_show"),
]
