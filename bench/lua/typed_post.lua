-- POST of a fixed JSON body (BODY) to PATH_PREFIX: a create of a typed resource, or a batch.
wrk.method = "POST"
wrk.path = os.getenv("PATH_PREFIX")
wrk.headers[os.getenv("AUTH_HEADER")] = os.getenv("AUTH_VALUE")
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BODY")
