-- SPDX-License-Identifier: Apache-2.0
--
-- Test harness for t1071.lua: runs the filter under LuaJIT exactly as Fluent
-- Bit's Lua filter (plugins/filter_lua) does, since Fluent Bit itself is not
-- packaged for Debian.  Prints TAP.
--
--   luajit test-harness.lua SCRIPT EQL_VECTORS_DIR SAMPLE_NDJSON [T1071_REPLAY]
--
-- The library comes from $T1071_LIBRARY (as for the filter).  What is
-- emulated, per filter instance:
--   * a fresh global environment in which the script runs once at start-up
--     (Fluent Bit: luaL_loadfile + lua_pcall; an error fails the filter's
--     initialisation), then the global named by `call` must be a function;
--   * each record reaches Lua the way flb_lua_pushmsgpack() builds it: maps
--     become tables, arrays 1-based tables, null nil (a hole in an array) or
--     the global flb_null with enable_flb_null, integers and floats numbers;
--     the timestamp a double (or {sec=, nsec=} with time_as_table);
--   * the callback is called as cb(tag, timestamp, record) and must return
--     code, timestamp, record with code -1, 0, 1 or 2;
--   * for codes 1 and 2 the returned table goes through the rules of
--     flb_lua_tomsgpack(): a table with #t > 0 is an array (of records: the
--     record is split, each element must be a map), else a map; values must
--     be strings, numbers, booleans, tables or flb_null.
-- An independent JSON decoder below reads the fixtures, so the filter's own
-- codec is tested against it.

local ffi = require("ffi")

local script, vectors_dir, sample, replay = arg[1], arg[2], arg[3], arg[4]
if not (script and vectors_dir and sample) then
    io.stderr:write("usage: luajit test-harness.lua SCRIPT EQL_VECTORS_DIR SAMPLE_NDJSON [T1071_REPLAY]\n")
    os.exit(2)
end

-- ===== TAP =====

local ntests, nfailed = 0, 0

local function ok(cond, name, diag)
    ntests = ntests + 1
    if cond then
        print(("ok %d - %s"):format(ntests, name))
    else
        nfailed = nfailed + 1
        print(("not ok %d - %s"):format(ntests, name))
        if diag then
            for line in tostring(diag):gmatch("[^\n]+") do
                print("# " .. line)
            end
        end
    end
    return cond
end

-- ===== An independent JSON reader (fixtures, expected files) =====

local JSON_NULL = setmetatable({}, { __tostring = function() return "JSON_NULL" end })

local function json_read(text)
    local i = 1
    local function peek()
        i = text:find("%S", i) or #text + 1
        return text:sub(i, i)
    end
    local value
    local function str()
        assert(text:sub(i, i) == '"', "string expected")
        i = i + 1
        local out = {}
        while true do
            local c = text:sub(i, i)
            assert(c ~= "", "unterminated string")
            if c == '"' then
                i = i + 1
                return table.concat(out)
            elseif c == "\\" then
                local e = text:sub(i + 1, i + 1)
                if e == "u" then
                    local cp = tonumber(text:sub(i + 2, i + 5), 16)
                    i = i + 6
                    if cp >= 0xD800 and cp < 0xDC00 and text:sub(i, i + 1) == "\\u" then
                        local lo = tonumber(text:sub(i + 2, i + 5), 16)
                        cp = 0x10000 + (cp - 0xD800) * 1024 + (lo - 0xDC00)
                        i = i + 6
                    end
                    -- UTF-8 by hand, bytes high to low.
                    local bytes, n = {}, cp < 0x80 and 1 or cp < 0x800 and 2 or cp < 0x10000 and 3 or 4
                    for k = n, 2, -1 do
                        bytes[k] = 0x80 + cp % 64
                        cp = math.floor(cp / 64)
                    end
                    bytes[1] = ({ 0, 0xC0, 0xE0, 0xF0 })[n] + cp
                    out[#out + 1] = string.char(unpack(bytes))
                else
                    out[#out + 1] = ({ b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" })[e] or e
                    i = i + 2
                end
            else
                out[#out + 1] = c
                i = i + 1
            end
        end
    end
    value = function()
        local c = peek()
        if c == "{" then
            i = i + 1
            local t = {}
            if peek() == "}" then i = i + 1; return t end
            repeat
                peek()
                local k = str()
                assert(peek() == ":", "':' expected")
                i = i + 1
                t[k] = value()
                c = peek()
                i = i + 1
            until c ~= ","
            assert(c == "}", "'}' expected")
            return t
        elseif c == "[" then
            i = i + 1
            local t = { __n = 0 }
            if peek() == "]" then i = i + 1; return t end
            repeat
                t.__n = t.__n + 1
                t[t.__n] = value()
                c = peek()
                i = i + 1
            until c ~= ","
            assert(c == "]", "']' expected")
            return t
        elseif c == '"' then
            return str()
        elseif text:sub(i, i + 3) == "true" then
            i = i + 4; return true
        elseif text:sub(i, i + 4) == "false" then
            i = i + 5; return false
        elseif text:sub(i, i + 3) == "null" then
            i = i + 4; return JSON_NULL
        end
        local num = text:match("^-?%d+%.?%d*[eE]?[-+]?%d*", i)
        assert(num and #num > 0, "value expected at " .. i)
        i = i + #num
        return assert(tonumber(num))
    end
    local v = value()
    assert(peek() == "", "trailing characters")
    return v
end

-- JSON value (json_read's shape) -> what Fluent Bit hands to Lua.
local function to_lua(v, flb_null)
    if v == JSON_NULL then
        return flb_null
    elseif type(v) == "table" then
        local t = {}
        if v.__n then
            for k = 1, v.__n do
                t[k] = to_lua(v[k], flb_null)
            end
        else
            for k, e in pairs(v) do
                t[k] = to_lua(e, flb_null)
            end
        end
        return t
    end
    return v
end

local function read_lines(path)
    local lines = {}
    local f = assert(io.open(path, "rb"))
    for line in f:lines() do
        if line:find("%S") then
            lines[#lines + 1] = line
        end
    end
    f:close()
    return lines
end

-- ===== Fluent Bit emulation =====

-- Fluent Bit's flb_null is a NULL light userdata; a NULL cdata pointer is
-- the nearest thing LuaJIT code can make, and is just as foreign to tables.
local FLB_NULL = ffi.cast("void *", nil)

local function is_flb_null(v)
    return type(v) == "cdata" and v == FLB_NULL
end

-- flb_lua_arraylength(): #t when > 0, else the count of positive integer
-- keys when they are exactly 1..n, else -1.
local function fb_arraylength(t)
    local n = #t
    if n > 0 then
        return n
    end
    local count, max = 0, 0
    for k in pairs(t) do
        if type(k) ~= "number" or k < 1 then
            return -1
        end
        count = count + 1
        if k > max then max = k end
    end
    return max == count and max or -1
end

-- flb_lua_tomsgpack(), checked: returns a plain copy or raises an error for
-- a value Fluent Bit would not pack (or would silently lose keys of).
local function fb_pack(v, path)
    local tv = type(v)
    if tv == "string" or tv == "boolean" then
        return v
    elseif tv == "number" then
        if v ~= v then error(path .. ": NaN") end
        return v
    elseif is_flb_null(v) then
        return JSON_NULL
    elseif tv == "table" then
        local n = fb_arraylength(v)
        local out = {}
        if n > 0 then
            for k in pairs(v) do
                if type(k) ~= "number" then
                    error(path .. ": array with a key \"" .. tostring(k) .. "\" Fluent Bit would drop")
                end
            end
            out.__n = n
            for k = 1, n do
                out[k] = v[k] == nil and JSON_NULL or fb_pack(v[k], path .. "[" .. k .. "]")
            end
        else
            for k, e in pairs(v) do
                if type(k) ~= "string" and type(k) ~= "number" then
                    error(path .. ": a " .. type(k) .. " key")
                end
                out[tostring(k)] = fb_pack(e, path .. "." .. tostring(k))
            end
        end
        return out
    end
    error(path .. ": a " .. tv .. " value Fluent Bit cannot pack")
end

-- One [FILTER] Name lua instance.
local function fb_filter(opts)
    local env = setmetatable({}, { __index = _G })
    env._G = env
    env.T1071_SETTINGS = opts.settings
    if opts.enable_flb_null then
        env.flb_null = FLB_NULL
    end
    local chunk, err = loadfile(script)
    if not chunk then
        return nil, err
    end
    setfenv(chunk, env)
    -- Fluent Bit runs the chunk with no results wanted; the script's
    -- module table is kept here only to unit-test its JSON codec.
    local okc, e = pcall(chunk)
    if not okc then
        return nil, e
    end
    local fn = env[opts.call or "cb"]
    if type(fn) ~= "function" then
        return nil, "call: no function " .. (opts.call or "cb")
    end
    return { env = env, fn = fn, opts = opts, module = e }
end

-- Run one record (a JSON line, or a Lua table) through the filter.  Returns
-- the code and the list of records leaving the filter (fb_pack'ed), the
-- list of raw returned tables, and an error string on a contract violation.
local function fb_call(f, tag, ts, record)
    if type(record) == "string" then
        record = to_lua(json_read(record), f.opts.enable_flb_null and FLB_NULL or nil)
    end
    local okc, code, rts, rrec = pcall(f.fn, tag, ts, record)
    if not okc then
        return nil, nil, nil, "callback raised: " .. tostring(code)
    end
    if code ~= -1 and code ~= 0 and code ~= 1 and code ~= 2 then
        return nil, nil, nil, "bad return code " .. tostring(code)
    end
    if code == -1 then
        return code, {}, {}
    elseif code == 0 then
        return code, { fb_pack(record, "record") }, { record }
    end
    if code == 1 and type(rts) ~= "number" and type(rts) ~= "table" then
        return nil, nil, nil, "code 1 with a bad timestamp"
    end
    if type(rrec) ~= "table" then
        return nil, nil, nil, "code " .. code .. " without a table"
    end
    local raw
    if fb_arraylength(rrec) > 0 then
        raw = {}
        for k = 1, #rrec do
            if type(rrec[k]) ~= "table" or fb_arraylength(rrec[k]) > 0 then
                return nil, nil, nil, "split record " .. k .. " is not a map"
            end
            raw[k] = rrec[k]
        end
    else
        raw = { rrec }
    end
    local packed = {}
    for k, r in ipairs(raw) do
        local okp, p = pcall(fb_pack, r, "record " .. k)
        if not okp then
            return nil, nil, nil, p
        end
        packed[k] = p
    end
    return code, packed, raw
end

-- ===== Helpers =====

local function deep_equal(a, b)
    if type(a) ~= type(b) then
        return false
    end
    if type(a) ~= "table" then
        return a == b or (a ~= a and b ~= b)
    end
    for k, v in pairs(a) do
        if not deep_equal(v, b[k]) then return false end
    end
    for k in pairs(b) do
        if a[k] == nil then return false end
    end
    return true
end

local function show(v)
    if type(v) ~= "table" then
        return type(v) == "string" and ("%q"):format(v) or tostring(v)
    end
    local parts = {}
    for k, e in pairs(v) do
        parts[#parts + 1] = tostring(k) .. "=" .. show(e)
    end
    table.sort(parts)
    return "{" .. table.concat(parts, ",") .. "}"
end

local function ids_text(ids)
    local parts = {}
    for k = 1, ids.__n or #ids do
        parts[#parts + 1] = tostring(ids[k])
    end
    return "[" .. table.concat(parts, ",") .. "]"
end

-- Feed every line; return the alerts' event_ids lists (as text), the codes
-- seen, and the first contract violation.
local function run_lines(f, lines, opts)
    opts = opts or {}
    local seqs, codes, alerts = {}, {}, {}
    for n, line in ipairs(lines) do
        local record = to_lua(json_read(line), f.opts.enable_flb_null and FLB_NULL or nil)
        local ts = opts.ts and opts.ts(record, n) or 1700000000.5
        if opts.mutate then
            record = opts.mutate(record)
        end
        local code, out, raw, err = fb_call(f, "ecs.test", ts, record)
        if not code then
            return nil, nil, nil, ("line %d: %s"):format(n, err)
        end
        codes[code] = (codes[code] or 0) + 1
        if code == 2 then
            local first = 1
            if not f.opts.alerts_only then
                if raw[1] ~= record then
                    return nil, nil, nil, ("line %d: split array does not start with the record"):format(n)
                end
                first = 2
            end
            if #out < first then
                return nil, nil, nil, ("line %d: code 2 without alerts"):format(n)
            end
            for k = first, #out do
                local a = out[k]
                if a.t1071_alert ~= true or type(a.event) ~= "table" or a.event.kind ~= "signal"
                    or type(a.t1071) ~= "table" or type(a.t1071.event_ids) ~= "table" then
                    return nil, nil, nil, ("line %d: record %d is not a marked alert: %s"):format(n, k, show(a))
                end
                seqs[#seqs + 1] = ids_text(a.t1071.event_ids)
                alerts[#alerts + 1] = a
            end
        elseif code == 1 then
            return nil, nil, nil, ("line %d: unexpected code 1"):format(n)
        end
    end
    return seqs, codes, alerts
end

local function expected_seqs(path)
    local out = {}
    for _, line in ipairs(read_lines(path)) do
        out[#out + 1] = ids_text(json_read(line))
    end
    return out
end

local function diff_seqs(got, want)
    local lines = { ("got %d sequences, want %d"):format(#got, #want) }
    for k = 1, math.max(#got, #want) do
        if got[k] ~= want[k] then
            lines[#lines + 1] = ("first difference at %d: got %s want %s"):format(k, tostring(got[k]), tostring(want[k]))
            break
        end
    end
    return table.concat(lines, "\n")
end

local function seqs_equal(got, want)
    if #got ~= #want then return false end
    for k = 1, #got do
        if got[k] ~= want[k] then return false end
    end
    return true
end

local function replay_seqs(file, sets)
    if not replay then
        return nil
    end
    local cmd = ("%q --output sequences"):format(replay)
    for _, s in ipairs(sets or {}) do
        cmd = cmd .. (" --set %q"):format(s)
    end
    local p = assert(io.popen(cmd .. (" %q"):format(file)))
    local out = {}
    for line in p:lines() do
        out[#out + 1] = ids_text(json_read(line))
    end
    p:close()
    return out
end

local VECTORS = {
    "a_25_one_entity", "b_gap", "c_maxspan_boundary", "d_predicates", "e_keys",
    "f_equal_ts", "g_predicates_each", "h_edges_each",
}
local A25 = vectors_dir .. "/a_25_one_entity.ndjson"
local a25_lines = read_lines(A25)
local a25_want = expected_seqs(vectors_dir .. "/a_25_one_entity.expected")

-- ===== The JSON codec of the script =====

do
    local f, err = fb_filter({})
    ok(f ~= nil, "the script loads as a Fluent Bit filter and defines cb", err)
    if not f then
        print("1.." .. ntests)
        os.exit(1)
    end
    local enc, dec = f.module.json_encode, f.module.json_decode

    local values = {
        { "plain", "plain" },
        { "quotes", 'a"b\\c/d' },
        { "controls", "\0\1\8\9\10\12\13\31\127" },
        { "utf-8", "h\195\169llo \240\159\152\128 \226\130\172" },
        { "integers", { 0, -1, 1, 443, 9007199254740992, -9007199254740992, 1700000000000 } },
        { "floats", { 0.5, -1.25, 0.1, 1 / 3, 1e-300, 6.02214076e23, 123456789.123456789 } },
        { "nested", { a = { b = { c = { 1, { d = "e" } } } }, ["@timestamp"] = "x", ["dotted.key"] = true } },
        { "booleans", { t = true, f = false } },
        { "empty object", {} },
        { "array of arrays", { { 1 }, { 2, { 3 } } } },
        { "key needing escapes", { ['k"\n'] = 1 } },
    }
    for _, c in ipairs(values) do
        local text = enc(c[2])
        local okr, back = pcall(json_read, text)
        ok(okr and deep_equal(to_lua(back), c[2]), "json_encode " .. c[1] .. " reads back equal", text)
        local okd, back2 = pcall(dec, text)
        ok(okd and deep_equal(back2, c[2]), "json_decode(json_encode(" .. c[1] .. ")) is equal", text)
    end
    ok(enc(0 / 0) == "null" and enc(math.huge) == "null", "NaN and infinities encode as null")
    ok(enc(FLB_NULL) == "null" and enc({ a = FLB_NULL }) == '{"a":null}', "flb_null encodes as null")
    ok(enc(42) == "42" and enc(-7) == "-7" and enc(1e15) == "1000000000000000", "integral numbers are integers")
    ok(enc({ 1, 2, 3 }) == "[1,2,3]" and enc({ x = 1 }) == '{"x":1}', "arrays and objects")
    local deep = {}
    local cur = deep
    for _ = 1, 300 do cur.x = {}; cur = cur.x end
    ok(not pcall(enc, deep), "a record nested 300 deep is refused")

    local decoded = dec('{"s":"\\u00e9\\ud83d\\ude00\\u0000\\ud800x","n":[-0,1.5e3,2E-2],"z":null,"e":{},"a":[]}')
    ok(decoded.s == "\195\169\240\159\152\128\0\239\191\189x" and decoded.n[2] == 1500
       and decoded.n[3] == 0.02 and decoded.z == nil and next(decoded.e) == nil,
       "json_decode: \\u escapes, surrogate pairs, NUL, a lone surrogate as U+FFFD, numbers, null", show(decoded))
    ok(dec("null", "N") == "N" and dec("[null,1]", "N")[1] == "N", "json_decode maps null to the value given")
    for _, bad in ipairs({ "", "{", "[1,]", '{"a" 1}', '"abc', "01", "1 2", "tru", '{"a":1,}', '"\\x"' }) do
        ok(not pcall(dec, bad), "json_decode refuses " .. ("%q"):format(bad))
    end
end

-- ===== The EQL vectors, one filter per vector =====

for _, name in ipairs(VECTORS) do
    local f, err = fb_filter({})
    if not f then
        ok(false, name .. ": filter loads", err)
    else
        local lines = read_lines(vectors_dir .. "/" .. name .. ".ndjson")
        local want = expected_seqs(vectors_dir .. "/" .. name .. ".expected")
        local seqs, codes, _, verr = run_lines(f, lines)
        if not seqs then
            ok(false, name .. ": filter contract", verr)
        else
            local passed = (codes[0] or 0) + (codes[2] or 0)
            ok(passed == #lines and not codes[-1],
               ("%s: every record passes (%d with code 0, %d split with code 2)"):format(name, codes[0] or 0, codes[2] or 0))
            ok(seqs_equal(seqs, want), ("%s: the split alerts are the %d expected sequences, in order"):format(name, #want),
               diff_seqs(seqs, want))
        end
    end
end

-- ===== The bundled sample, against t1071-replay =====

do
    local f = assert(fb_filter({}))
    local lines = read_lines(sample)
    local seqs, codes, alerts, err = run_lines(f, lines)
    ok(seqs ~= nil, "sample: filter contract", err)
    if seqs then
        local want = replay_seqs(sample)
        if want then
            ok(seqs_equal(seqs, want) and #want > 0,
               ("sample: %d alerts, the same sequences as t1071-replay"):format(#seqs), diff_seqs(seqs, want))
        else
            ok(#seqs > 0, "sample: alerts (no t1071-replay given to compare) # SKIP")
        end
        ok(codes[2] and codes[2] > 0 and (codes[0] or 0) + codes[2] == #lines, "sample: codes 0 and 2 only")
        local a = alerts[1]
        ok(a and a.kibana and a.kibana.alert and a.kibana.alert.rule and a.kibana.alert.severity == "high"
           and a.host and a.host.name ~= nil, "sample: alerts keep Elastic's alert shape", a and show(a))
        local st = f.env.t1071_stats()
        ok(st.records_in == #lines and st.alerts_polled == #seqs and st.lua_bad == 0,
           "sample: t1071_stats() counts records and alerts", show(st))
    end

    -- alerts_only: input records dropped, alerts alone.
    local fo = assert(fb_filter({ settings = { alerts_only = true }, alerts_only = true }))
    local seqs2, codes2, _, err2 = run_lines(fo, lines)
    ok(seqs2 ~= nil and seqs ~= nil and seqs_equal(seqs2, seqs) and not codes2[0]
       and (codes2[-1] or 0) + (codes2[2] or 0) == #lines,
       "alerts_only: code -1 for plain records, code 2 with the same alerts", err2)
end

-- ===== Settings =====

do
    -- T1071_SET as a string, compared with t1071-replay --set.
    local f = assert(fb_filter({ settings = { set = "rule.runs=5; engine.alert_queue = 2\nrule.maxspan=24h" } }))
    local seqs = run_lines(f, a25_lines)
    local want = replay_seqs(A25, { "rule.runs=5", "engine.alert_queue=2" })
    if want then
        ok(seqs and #seqs == 21 and seqs_equal(seqs, want), "set string rule.runs=5: 21 sequences, as t1071-replay --set",
           seqs and diff_seqs(seqs, want))
    else
        ok(seqs and #seqs == 21, "set string rule.runs=5: 21 sequences")
    end

    -- A table of key -> value, and a list of pairs.
    local ft = assert(fb_filter({ settings = { set = { ["rule.runs"] = 20 } } }))
    local s2 = run_lines(ft, a25_lines)
    ok(s2 and #s2 == 6, "set table {rule.runs = 20}: 6 sequences")
    local fl = assert(fb_filter({ settings = { set = { "rule.runs=24", "rule.maxspan=1h" } } }))
    local s3 = run_lines(fl, a25_lines)
    ok(s3 and #s3 == 2, "set list {rule.runs=24, rule.maxspan=1h}: 2 sequences")

    -- An INI file, then set on top.
    local ini = os.tmpname()
    local fh = assert(io.open(ini, "w"))
    fh:write("[rule]\nruns = 15\n")
    fh:close()
    local fc = assert(fb_filter({ settings = { config = ini } }))
    local s4 = run_lines(fc, a25_lines)
    ok(s4 and #s4 == 11, "config file runs = 15: 11 sequences")
    local fcs = assert(fb_filter({ settings = { config = ini, set = "rule.runs=25" } }))
    local s5 = run_lines(fcs, a25_lines)
    ok(s5 and #s5 == 1, "config file, then set rule.runs=25: 1 sequence")
    os.remove(ini)

    -- Errors fail the filter's start-up, naming the problem.
    local bad, err = fb_filter({ settings = { set = "rule.nope=1" } })
    ok(bad == nil and tostring(err):find("rule.nope", 1, true), "an unknown key fails start-up, naming the key", err)
    bad, err = fb_filter({ settings = { set = "rule.runs=0" } })
    ok(bad == nil and tostring(err):find("rule.runs", 1, true), "a bad value fails start-up", err)
    bad, err = fb_filter({ settings = { set = "no equals sign" } })
    ok(bad == nil, "a malformed set item fails start-up", err)
    bad, err = fb_filter({ settings = { config = "/nonexistent/t1071.ini" } })
    ok(bad == nil and tostring(err):find("nonexistent", 1, true), "a missing config file fails start-up", err)
    bad, err = fb_filter({ settings = { library = "/nonexistent/libt1071detect.so" } })
    ok(bad == nil and tostring(err):find("T1071_LIBRARY", 1, true), "a missing library fails start-up", err)

    -- mark: another field name, or none.
    local fm = assert(fb_filter({ settings = { mark = "is_alert" } }))
    local code, out = fb_call(fm, "t", 1, a25_lines[1])
    for k = 2, 10 do code, out = fb_call(fm, "t", 1, a25_lines[k]) end
    ok(code == 2 and out[2].is_alert == true and out[2].t1071_alert == nil, "mark = is_alert marks alerts with is_alert")
end

-- ===== Records the library refuses pass through untouched =====

do
    local f = assert(fb_filter({}))
    local code, out = fb_call(f, "t", 1, '{"event":{"id":"no-time"},"message":"hello"}')
    ok(code == 0 and out[1].message == "hello", "a record without @timestamp: code 0, unchanged")
    code = fb_call(f, "t", 1, '{"@timestamp":"yesterday","event":{"id":"x"}}')
    ok(code == 0, "a record with a bad @timestamp: code 0")
    local deep = {}
    local cur = deep
    for _ = 1, 300 do cur.x = {}; cur = cur.x end
    code = fb_call(f, "t", 1, deep)
    ok(code == 0, "a record too deep to encode: code 0")
    local st = f.env.t1071_stats()
    ok(st.lua_bad == 3 and st.lua_records == 3, "bad records are counted", show(st))
    -- The context goes on working.
    local seqs = run_lines(f, a25_lines)
    ok(seqs and seqs_equal(seqs, a25_want), "after bad records the a_25 vector still gives its 16 sequences")
end

-- ===== Timestamps from Fluent Bit =====

do
    -- Take @timestamp out of the records; Fluent Bit's record time stands in.
    local function epoch(iso)
        local y, mo, d, h, mi, s, ms = iso:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)%.(%d+)Z$")
        -- Days from civil (proleptic Gregorian), UTC.
        y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
        if mo <= 2 then y = y - 1 end
        local era = math.floor(y / 400)
        local yoe = y - era * 400
        local doy = math.floor((153 * (mo + (mo > 2 and -3 or 9)) + 2) / 5) + d - 1
        local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
        local days = era * 146097 + doe - 719468
        return days * 86400 + h * 3600 + mi * 60 + s, tonumber(ms)
    end
    local function strip(r)
        r["@timestamp"] = nil
        return r
    end
    local f = assert(fb_filter({ settings = { fill_timestamp = "1" } }))
    local seqs, _, _, err = run_lines(f, a25_lines, {
        ts = function(r) local s, ms = epoch(r["@timestamp"]); return s + ms / 1000 end,
        mutate = strip,
    })
    ok(seqs and seqs_equal(seqs, a25_want), "fill_timestamp with a double timestamp: the 16 sequences",
       err or (seqs and diff_seqs(seqs, a25_want)))

    local ft = assert(fb_filter({ settings = { fill_timestamp = true } }))
    seqs, _, _, err = run_lines(ft, a25_lines, {
        ts = function(r) local s, ms = epoch(r["@timestamp"]); return { sec = s, nsec = ms * 1e6 } end,
        mutate = strip,
    })
    ok(seqs and seqs_equal(seqs, a25_want), "fill_timestamp with time_as_table: the 16 sequences",
       err or (seqs and diff_seqs(seqs, a25_want)))

    local fn = assert(fb_filter({}))
    seqs = run_lines(fn, a25_lines, { mutate = strip })
    ok(seqs and #seqs == 0 and fn.env.t1071_stats().lua_bad == 25,
       "without fill_timestamp, records without @timestamp are refused")
end

-- ===== Fluent Bit's enable_flb_null =====

do
    local f = assert(fb_filter({ enable_flb_null = true }))
    local seqs, _, alerts, err = run_lines(f, a25_lines)
    ok(seqs and seqs_equal(seqs, a25_want), "enable_flb_null: the 16 sequences", err)
    -- a_25 has no host: the alert's host.name is JSON null.
    ok(alerts and alerts[1].host and alerts[1].host.name == JSON_NULL,
       "enable_flb_null: null alert fields reach Fluent Bit as flb_null", alerts and show(alerts[1].host))
    local fp = assert(fb_filter({}))
    local _, _, plain = run_lines(fp, a25_lines)
    ok(plain and plain[1].host and plain[1].host.name == nil,
       "without it, null alert fields are left out (as Fluent Bit does)")
end

-- ===== Dotted keys, lateness and flush, two instances =====

do
    local function dotted(r)
        local out = {}
        local function walk(prefix, t)
            for k, v in pairs(t) do
                local key = prefix and (prefix .. "." .. k) or k
                if type(v) == "table" and #v == 0 and next(v) ~= nil then
                    walk(key, v)
                else
                    out[key] = v
                end
            end
        end
        walk(nil, r)
        return out
    end
    local f = assert(fb_filter({}))
    local seqs = run_lines(f, a25_lines, { mutate = dotted })
    ok(seqs and seqs_equal(seqs, a25_want), "records with dotted keys: the 16 sequences")

    -- engine.lateness holds events back; t1071_flush() releases the rest.
    local fl = assert(fb_filter({ settings = { set = "engine.lateness=10m" } }))
    local early = run_lines(fl, a25_lines)
    local rest = fl.env.t1071_flush()
    local all = {}
    for _, s in ipairs(early or {}) do all[#all + 1] = s end
    for _, a in ipairs(rest) do all[#all + 1] = ids_text(a.t1071.event_ids) end
    ok(early and #early > 0 and #rest > 0 and seqs_equal(all, a25_want),
       ("engine.lateness=10m: %d alerts inline, %d at t1071_flush(), the 16 in order"):format(early and #early or -1, #rest))

    -- Two filter instances are two contexts: interleaved, each sees its own.
    local f1, f2 = assert(fb_filter({})), assert(fb_filter({}))
    local n1, n2 = 0, 0
    for _, line in ipairs(a25_lines) do
        local c1, o1 = fb_call(f1, "a", 1, line)
        local c2, o2 = fb_call(f2, "b", 1, line)
        if c1 == 2 then n1 = n1 + #o1 - 1 end
        if c2 == 2 then n2 = n2 + #o2 - 1 end
    end
    ok(n1 == 16 and n2 == 16, "two filter instances keep separate contexts (16 and 16)")
end

print("1.." .. ntests)
os.exit(nfailed == 0 and 0 or 1)
