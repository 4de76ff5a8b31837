"""Settings for bench/orders_api.py: the real settings, with a urlconf that adds a bare create endpoint.

Run with ``bench/`` on the Python path (the benchmark sets PYTHONPATH) and
``DJANGO_SETTINGS_MODULE=orders_bench_settings``.
"""

from yiyang.settings import *  # noqa: F403

ROOT_URLCONF = "orders_bench_urls"
