"""Pages whose lists refresh in place: the whole page, or only the results for htmx."""

from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def render_list(request, page_template: str, results_template: str, context: dict):
    """Render the results fragment for an htmx request, the full page otherwise.

    A history-restore request (back button after the cache expired) needs the full page.
    """
    partial = request.htmx and not request.htmx.history_restore_request
    response = render(request, results_template if partial else page_template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response
