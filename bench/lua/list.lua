-- A list page of 100: PATH_PREFIX is the full path with the page-size parameter.
wrk.path = os.getenv("PATH_PREFIX")
wrk.headers[os.getenv("AUTH_HEADER")] = os.getenv("AUTH_VALUE")
