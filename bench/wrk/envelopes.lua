-- wrk script for bench/e2e.py: posts real-SDK envelopes, each request with a
-- fresh event id, so that every accepted request must become one stored event.
--
--   wrk -t1 -c16 -d60s -s bench/wrk/envelopes.lua URL -- TEMPLATES KEY
--
-- TEMPLATES is a file of envelopes separated by NUL bytes, in which every
-- event id is the placeholder below; KEY is the project's public DSN key.
-- At the end it prints one JSON line: requests, status counts, latencies.

local PLACEHOLDER = "feedfacefeedfacefeedfacefeedface"
local templates = {}
local next_template = 0
local threads = {}
local thread_count = 0

accepted = 0
refused = 0
failed = 0

function setup(thread)
  thread_count = thread_count + 1
  -- Each thread has its own Lua state; a seed of its own keeps the ids of
  -- two threads from repeating each other.
  thread:set("thread_number", thread_count)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local data = file:read("*a")
  file:close()
  -- Each template is kept as the pieces between its event ids, so a request
  -- costs one concatenation instead of a search through the whole body: wrk
  -- shares the machine with the server it measures.
  for template in string.gmatch(data, "([^%z]+)") do
    local pieces, start = {}, 1
    while true do
      local first, last = string.find(template, PLACEHOLDER, start, true)
      if not first then break end
      table.insert(pieces, string.sub(template, start, first - 1))
      start = last + 1
    end
    assert(#pieces > 0, "a template without the placeholder event id")
    table.insert(pieces, string.sub(template, start))
    table.insert(templates, pieces)
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-sentry-envelope"
  wrk.headers["X-Sentry-Auth"] = "Sentry sentry_key=" .. args[2] .. ", sentry_version=7"
  math.randomseed(os.time() * 1000 + (thread_number or 0))
  next_template = math.random(#templates)
end

local function fresh_id()
  return string.format(
    "%08x%08x%08x%08x",
    math.random(0, 0x7fffffff), math.random(0, 0x7fffffff),
    math.random(0, 0x7fffffff), math.random(0, 0x7fffffff)
  )
end

function request()
  next_template = next_template % #templates + 1
  local body = table.concat(templates[next_template], fresh_id())
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status == 200 then
    accepted = accepted + 1
  elseif status == 429 or status == 503 then
    refused = refused + 1
  else
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  local totals = {accepted = 0, refused = 0, failed = 0}
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + thread:get(name)
    end
  end
  io.write(string.format(
    '{"requests": %d, "accepted": %d, "refused": %d, "failed": %d, ' ..
    '"socket_errors": %d, "seconds": %.3f, "p50_ms": %.2f, "p99_ms": %.2f, ' ..
    '"max_ms": %.2f}\n',
    summary.requests, totals.accepted, totals.refused, totals.failed,
    summary.errors.connect + summary.errors.read + summary.errors.write +
      summary.errors.timeout,
    summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000
  ))
end
