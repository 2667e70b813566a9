-- nginx's fixed JSON body: one path, no credential.
wrk.path = os.getenv("PATH_PREFIX")
