from django.urls import path, re_path

from . import views

app_name = "areas"

urlpatterns = [
    path("", views.area_index, name="index"),
    re_path(r"^(?P<code>\d{2}|\d{4}|\d{6}|\d{9}|\d{12})/$", views.area_detail, name="detail"),
]
