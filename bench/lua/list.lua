-- A list page of 100: PATH_PREFIX is the whole path with the page-size parameter
-- (/v1/resource?per_page=100 or /api/collections/resources/records?perPage=100).
wrk.path = os.getenv("PATH_PREFIX")
wrk.headers[os.getenv("AUTH_HEADER")] = os.getenv("AUTH_VALUE")
