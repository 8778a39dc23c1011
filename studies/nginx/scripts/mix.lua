-- wrk request mix for the nginx study: a page view fetches the page, its stylesheet, its
-- script and its image; pages are fetched more often than the assets (browsers cache them).
-- Accept-Encoding: gzip as every browser sends it, so gzip's cost and savings both count.
local paths = { "/", "/style.css", "/", "/app.js", "/", "/logo.png", "/", "/style.css", "/", "/" }
local requests = {}
local i = 0

init = function(args)
    wrk.headers["Accept-Encoding"] = "gzip"
    for k, p in ipairs(paths) do
        requests[k] = wrk.format("GET", p)
    end
    i = math.random(#requests) - 1
end

request = function()
    i = i % #requests + 1
    return requests[i]
end
