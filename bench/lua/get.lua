-- GET by id: a random id from ids.txt (one per line) each request.
-- Headers come from the AUTH_HEADER and AUTH_VALUE environment variables; the path prefix
-- from PATH_PREFIX (e.g. /v1/resource/ or /api/collections/resources/records/).
local ids = {}
for line in io.lines(os.getenv("IDS_FILE")) do ids[#ids + 1] = line end
local prefix = os.getenv("PATH_PREFIX")
wrk.headers[os.getenv("AUTH_HEADER")] = os.getenv("AUTH_VALUE")
request = function()
  return wrk.format("GET", prefix .. ids[math.random(#ids)])
end
