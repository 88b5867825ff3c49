from __future__ import annotations

from django.urls import path

from fixtrail.usage import views

app_name = "usage"

urlpatterns = [path("usage/", views.usage, name="report")]
