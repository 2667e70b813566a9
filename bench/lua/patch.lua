-- PATCH: a merge patch of a random seeded id, each one a real change (a counter in the
-- attributes and the data), so that every request writes a new version. IDS_FILE and
-- PATH_PREFIX as in get.lua.
local ids = {}
for line in io.lines(os.getenv("IDS_FILE")) do
  if #line > 0 then ids[#ids + 1] = line end
end
local prefix = os.getenv("PATH_PREFIX")
wrk.headers[os.getenv("AUTH_HEADER")] = os.getenv("AUTH_VALUE")
wrk.headers["Content-Type"] = "application/merge-patch+json"
math.randomseed(os.time())
local n = 0
request = function()
  n = n + 1
  local body = '{"attributes":{"env":"v' .. n .. '"},"data":{"n":' .. n .. '}}'
  return wrk.format("PATCH", prefix .. ids[math.random(#ids)], nil, body)
end
