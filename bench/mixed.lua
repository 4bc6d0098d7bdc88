-- wrk script for bench/soak: a store's mixed traffic, in a fixed cycle of 20 requests per thread:
-- 14 GET /products/{id} (over BENCH_PRODUCT_IDS), 3 GET /products?limit=20 (all, then one category),
-- 2 POST /orders (one unit of BENCH_ORDER_PRODUCT, a fresh Idempotency-Key), 1 POST /auth/login
-- (BENCH_EMAIL / BENCH_PASSWORD). Each order is cancelled by its shopper right after it is placed (the next
-- request that thread makes), so stock comes back and no shopper reaches the limit of open orders.
-- Orders rotate over the shoppers in BENCH_SHOPPERS ("userId=token,..."), each wrk thread over its own half,
-- so a shopper's order is cancelled long before its turn comes again.
-- done() prints key=value lines that bench/soak parses.

local function split(text)
    local list = {}
    for item in string.gmatch(text, "[^,]+") do table.insert(list, item) end
    return list
end

local ids = split(os.getenv("BENCH_PRODUCT_IDS") or error("BENCH_PRODUCT_IDS is not set"))
local tokens, tokenOf = {}, {}
for _, pair in ipairs(split(os.getenv("BENCH_SHOPPERS") or error("BENCH_SHOPPERS is not set"))) do
    local user, token = string.match(pair, "^([^=]+)=(.+)$")
    table.insert(tokens, token)
    tokenOf[user] = token
end
local orderProduct = os.getenv("BENCH_ORDER_PRODUCT") or error("BENCH_ORDER_PRODUCT is not set")
local login = string.format('{"email":"%s","password":"%s"}',
    os.getenv("BENCH_EMAIL") or error("BENCH_EMAIL is not set"), os.getenv("BENCH_PASSWORD") or error("BENCH_PASSWORD is not set"))
-- Each wrk run (bench/soak starts one a minute) needs keys of its own, or its orders would replay the last run's.
local round = os.getenv("BENCH_ROUND") or error("BENCH_ROUND is not set")
-- Shipped to Oregon by standard (an address and a method are required since issue 18).
local shippingMethod = "standard"
local orderBody = string.format('{"lines":[{"productId":"%s","quantity":1}],'
    .. '"shippingAddress":{"name":"Soak Shopper","line1":"1 Main St","city":"Portland","region":"OR","postalCode":"97201","country":"US"},'
    .. '"shippingMethodId":"%s"}', orderProduct, shippingMethod)

-- The order's own id: the first "id" of the body that is not its shipping method's (the encoder does not
-- keep the keys in order, so shippingMethod's "id" may come first).
local function orderIdOf(body)
    for id in string.gmatch(body, '[{,]"id":"([^"]+)"') do
        if id ~= shippingMethod then return id end
    end
    return nil
end

local threads = {}
local threadCount = 0

function setup(thread)
    threadCount = threadCount + 1
    thread:set("thread_id", threadCount)
    table.insert(threads, thread)
end

function init(args)
    n, orders = 0, 0
    cancels = {}  -- {order id, token} waiting to be sent
    ok_200, ok_201, other = 0, 0, 0
    -- This thread's shoppers: every other token, starting at its own index.
    mine = {}
    for i = thread_id, #tokens, 2 do table.insert(mine, tokens[i]) end
    if #mine == 0 then mine = tokens end
end

local function kindOf(i)
    local k = i % 20
    if k < 14 then return "read" elseif k < 17 then return "page" elseif k < 19 then return "order" else return "login" end
end

function request()
    local cancel = table.remove(cancels, 1)
    if cancel then
        return wrk.format("POST", "/orders/" .. cancel[1] .. "/cancel", { ["Authorization"] = "Bearer " .. cancel[2] })
    end
    n = n + 1
    local kind = kindOf(n)
    if kind == "read" then
        return wrk.format("GET", "/products/" .. ids[(n % #ids) + 1])
    elseif kind == "page" then
        return wrk.format("GET", (n % 2 == 0) and "/products?limit=20" or "/products?limit=20&category=books")
    elseif kind == "order" then
        orders = orders + 1
        local token = mine[(orders % #mine) + 1]
        return wrk.format("POST", "/orders", {
            ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token,
            ["Idempotency-Key"] = string.format("soak-%s-%d-%d", round, thread_id, orders),
        }, orderBody)
    else
        return wrk.format("POST", "/auth/login", { ["Content-Type"] = "application/json" }, login)
    end
end

-- Answers come back per connection, not in the order requests were made, so they are counted by status:
-- reads, pages, logins and cancels answer 200, orders 201; anything else is a failure.
function response(status, headers, body)
    if status == 200 then
        ok_200 = ok_200 + 1
    elseif status == 201 then
        ok_201 = ok_201 + 1
        -- The order's own shopper cancels it.
        local id, owner = orderIdOf(body), string.match(body, '"userId":"([^"]+)"')
        if id and owner and tokenOf[owner] then
            table.insert(cancels, { id, tokenOf[owner] })
        else
            other = other + 1
            io.stderr:write("mixed.lua: an order without its id or shopper: " .. body .. "\n")
        end
    else
        other = other + 1
        if other <= 3 then io.stderr:write(string.format("mixed.lua: HTTP %d: %s\n", status, body)) end
    end
end

function done(summary, latency, requests)
    local a, b, c = 0, 0, 0
    for _, t in ipairs(threads) do
        a = a + t:get("ok_200")
        b = b + t:get("ok_201")
        c = c + t:get("other")
    end
    io.write(string.format("ok_200=%d\nok_201=%d\nother=%d\n", a, b, c))
    io.write(string.format("requests_total=%d\n", summary.requests))
    io.write(string.format("socket_errors=%d\n",
        summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
    io.write(string.format("latency_p99_ms=%.2f\n", latency:percentile(99) / 1000))
end
