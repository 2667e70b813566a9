-- POST create: the same small body every time.
wrk.method = "POST"
wrk.path = os.getenv("PATH_PREFIX")
wrk.headers[os.getenv("AUTH_HEADER")] = os.getenv("AUTH_VALUE")
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name":"bench","type":"widget","status":"active","attributes":{"env":"bench","tier":"gold"},"data":{"cpus":8,"tags":["a","b"]}}'
