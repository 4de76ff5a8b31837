from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """``?page=N&page_size=K`` (up to 1,000), with absolute next/previous links."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000
