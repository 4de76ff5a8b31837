from django.urls import include, path, register_converter

from . import views


class MonthConverter:
    """YYYY-MM in the address; the view checks it is a real month."""

    regex = r"\d{4}-\d{2}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value if isinstance(value, str) else f"{value:%Y-%m}"


register_converter(MonthConverter, "month")

app_name = "benefits"

urlpatterns = [
    path("applications/", include("yiyang.benefits.urls_applications")),
    path("payments/", include("yiyang.benefits.urls_payments")),
    path("", views.programme_list, name="programmes"),
    path("<slug:code>/payroll/", views.payroll_runs, name="runs"),
    path("<slug:code>/payroll/<month:month>/", views.payroll_month, name="month"),
    path("<slug:code>/payroll/<month:month>/approve/", views.approve, name="approve"),
    path("<slug:code>/payroll/<month:month>/release/", views.release_run, name="release"),
]
