"""The app's URLs plus the bench's floor page (bench settings only, never the app's URLconf)."""

from __future__ import annotations

from django.urls import path

from bench.load.views import floor
from bulu.urls import urlpatterns as app_urlpatterns

urlpatterns = [path("bench/floor/", floor, name="bench_floor"), *app_urlpatterns]
