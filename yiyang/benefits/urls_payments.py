"""Pages for benefit payments: an elder's money page, bank files and bank returns."""

from django.urls import path

from . import views_payments as views

urlpatterns = [
    path("elders/<int:elder_id>/", views.elder_benefits, name="elder_benefits"),
    path("elders/<int:elder_id>/account/", views.set_account, name="elder_account"),
    path("elders/<int:elder_id>/account/reveal/", views.reveal_account, name="elder_account_reveal"),
    path("elders/<int:elder_id>/survival/", views.add_survival, name="elder_survival"),
    path("elders/<int:elder_id>/suspensions/", views.suspend, name="elder_suspend"),
    path("elders/<int:elder_id>/suspensions/<int:suspension_id>/resume/", views.resume, name="elder_resume"),
    path("runs/<int:run_id>/bank-file/", views.bank_file, name="bank_file"),
    path("bank-returns/", views.bank_returns, name="bank_returns"),
]
