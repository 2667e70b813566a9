-- GET by id: a random seeded id each request. IDS_FILE holds one id a line; PATH_PREFIX is the
-- path before the id (/v1/resource/ or /api/collections/resources/records/); AUTH_HEADER and
-- AUTH_VALUE the credential (X-API-Key: tgk_... or Authorization: <PocketBase token>).
local ids = {}
for line in io.lines(os.getenv("IDS_FILE")) do
  if #line > 0 then ids[#ids + 1] = line end
end
local prefix = os.getenv("PATH_PREFIX")
wrk.headers[os.getenv("AUTH_HEADER")] = os.getenv("AUTH_VALUE")
math.randomseed(os.time())
request = function()
  return wrk.format("GET", prefix .. ids[math.random(#ids)])
end
