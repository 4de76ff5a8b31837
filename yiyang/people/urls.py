from django.urls import path

from . import views, views_moves

app_name = "people"

urlpatterns = [
    path("", views.elder_list, name="list"),
    path("export/", views.elder_export, name="export"),
    path("new/", views.elder_create, name="create"),
    path("check-id/", views.check_id_number, name="check_id"),
    path("import/", views.elder_import, name="import"),
    path("import/template.xlsx", views.import_template, name="import_template"),
    path("import/errors.xlsx", views.import_error_report, name="import_errors"),
    path("<int:pk>/", views.elder_detail, name="detail"),
    path("<int:pk>/edit/", views.elder_edit, name="edit"),
    path("<int:pk>/reveal/<str:field>/", views.reveal, name="reveal"),
    path("<int:pk>/hardships/", views.hardship_add, name="hardship_add"),
    path("<int:pk>/hardships/<int:hardship_pk>/end/", views.hardship_end, name="hardship_end"),
    path("<int:pk>/contacts/", views.contact_add, name="contact_add"),
    path("<int:pk>/move/", views_moves.elder_move, name="move"),
    path("<int:pk>/move/villages/", views_moves.move_villages, name="move_villages"),
]
