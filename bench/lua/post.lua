-- POST create: the same small record every time (the seed records have the same fields).
-- PATH_PREFIX is the collection path (/v1/resource or /api/collections/resources/records).
wrk.method = "POST"
wrk.path = os.getenv("PATH_PREFIX")
wrk.headers[os.getenv("AUTH_HEADER")] = os.getenv("AUTH_VALUE")
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name":"bench","type":"widget","status":"active","attributes":{"env":"bench","tier":"gold"},"data":{"cpus":8,"tags":["a","b"]}}'
