-- GET by id: a random seeded id each request. IDS_FILE holds one id a line; PATH_PREFIX is the
-- path before the id (/v1/resource/ or /api/collections/resources/records/); AUTH_HEADER and
-- AUTH_VALUE the credential (X-API-Key: tgk_... or Authorization: <PocketBase token>).
-- With BENCH_METHOD=PATCH, a merge patch of the random id instead, each one a real change (a
-- counter in the attributes and the data), so that every request writes a new version.
local ids = {}
for line in io.lines(os.getenv("IDS_FILE")) do
  if #line > 0 then ids[#ids + 1] = line end
end
local prefix = os.getenv("PATH_PREFIX")
wrk.headers[os.getenv("AUTH_HEADER")] = os.getenv("AUTH_VALUE")
math.randomseed(os.time())
if os.getenv("BENCH_METHOD") == "PATCH" then
  wrk.headers["Content-Type"] = "application/merge-patch+json"
  local n = 0
  request = function()
    n = n + 1
    local body = '{"attributes":{"env":"v' .. n .. '"},"data":{"n":' .. n .. '}}'
    return wrk.format("PATCH", prefix .. ids[math.random(#ids)], nil, body)
  end
else
  request = function()
    return wrk.format("GET", prefix .. ids[math.random(#ids)])
  end
end
