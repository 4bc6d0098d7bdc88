-- wrk script for the contention run: every connection POSTs /orders for one unit of the same
-- product with the same shopper's token, until long after it has sold out.
-- Reads BENCH_TOKEN and BENCH_PRODUCT_ID from the environment. Each wrk thread has its own Lua
-- state, so counters are per thread; setup() keeps the threads and done() adds them up.
-- Prints key=value lines that bench/run parses.

local token = os.getenv("BENCH_TOKEN") or error("BENCH_TOKEN is not set")
local product = os.getenv("BENCH_PRODUCT_ID") or error("BENCH_PRODUCT_ID is not set")
-- The variant to order (since variants: one of the product's several); without it, the product's one variant.
local variant = os.getenv("BENCH_VARIANT_ID")
local variantField = variant and string.format(',"variantId":"%s"', variant) or ""

wrk.method = "POST"
-- Shipped to Oregon by standard (an address and a method are required since issue 18): no tax there with the
-- built-in settings, so each order costs the unit price plus 500 shipping and the stock check is unchanged.
wrk.body = string.format('{"lines":[{"productId":"%s"%s,"quantity":1}],'
    .. '"shippingAddress":{"name":"Bench Shopper","line1":"1 Main St","city":"Portland","region":"OR","postalCode":"97201","country":"US"},'
    .. '"shippingMethodId":"standard"}', product, variantField)
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

-- A monotonic clock in seconds, if LuaJIT's ffi is there (wrk links LuaJIT); nil otherwise.
local now = nil
do
    local ok, ffi = pcall(require, "ffi")
    if ok then
        pcall(ffi.cdef, [[
            typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
            int clock_gettime(int clk_id, bench_timespec *tp);
        ]])
        local ts = ffi.new("bench_timespec")
        now = function()
            ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
            return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
        end
    end
end

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    created, out_of_stock, other = 0, 0, 0
    started_at = now and now() or -1
    last_created_at = -1
    first_conflict_at = -1
end

function response(status, headers, body)
    if status == 201 then
        created = created + 1
        if now then last_created_at = now() end
    elseif status == 409 then
        out_of_stock = out_of_stock + 1
        if now and first_conflict_at < 0 then first_conflict_at = now() end
    else
        other = other + 1
        if other <= 3 then io.stderr:write(string.format("order.lua: unexpected HTTP %d: %s\n", status, body)) end
    end
end

function done(summary, latency, requests)
    local c, k, o = 0, 0, 0
    local start, last, conflict = math.huge, -1, math.huge
    for _, t in ipairs(threads) do
        c = c + t:get("created")
        k = k + t:get("out_of_stock")
        o = o + t:get("other")
        local s, l, f = t:get("started_at"), t:get("last_created_at"), t:get("first_conflict_at")
        if s >= 0 and s < start then start = s end
        if l > last then last = l end
        if f >= 0 and f < conflict then conflict = f end
    end
    io.write(string.format("orders_created=%d\n", c))
    io.write(string.format("orders_out_of_stock=%d\n", k))
    io.write(string.format("orders_other=%d\n", o))
    io.write(string.format("requests_total=%d\n", summary.requests))
    io.write(string.format("socket_errors=%d\n",
        summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
    io.write(string.format("duration_seconds=%.3f\n", summary.duration / 1e6))
    if start < math.huge and last >= 0 then
        io.write(string.format("sellout_seconds=%.3f\n", last - start))
    end
    if start < math.huge and conflict < math.huge then
        io.write(string.format("first_conflict_seconds=%.3f\n", conflict - start))
    end
end
