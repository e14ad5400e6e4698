-- SPDX-License-Identifier: Apache-2.0
--
-- t1071.lua: a Fluent Bit Lua filter that runs every record through
-- libt1071detect (Elastic Security's T1071 beaconing rule) and appends the
-- alerts as extra records.  LuaJIT FFI only: no C module, no JSON module.
--
--   [FILTER]
--       Name    lua
--       Match   ecs.*
--       script  /etc/fluent-bit/t1071.lua
--       call    cb
--
-- Each record (an ECS network event, nested objects or dotted keys, or a
-- Suricata EVE flow record) is encoded to JSON and fed with
-- t1071_feed_json().  When it completes sequences, the callback returns
-- code 2 and an array: the record itself, then one record per alert in
-- Elastic's alert shape (see README.md), each with `t1071_alert = true`.
-- Otherwise it returns code 0 (record unchanged).
--
-- Settings, read once when the script loads: a global table T1071_SETTINGS
-- defined before it (keys below, lower case), else environment variables:
--
--   T1071_LIBRARY         path of libt1071detect, else the soname
--                         "libt1071detect.so.0" through the loader's search
--   T1071_CONFIG          an INI file (t1071_config_load_file)
--   T1071_SET             "section.key=value" pairs separated by ";" or
--                         newlines, applied after the file, in order
--                         (in T1071_SETTINGS: that string, a list of such
--                         strings, or a table key -> value)
--   T1071_ALERTS_ONLY     "1"/"true": drop the input records, emit only alerts
--   T1071_MARK            field set to true on each alert ("" for none);
--                         default "t1071_alert"
--   T1071_FILL_TIMESTAMP  "1"/"true": a record with neither "@timestamp" nor
--                         "timestamp" is fed with Fluent Bit's record time as
--                         its @timestamp (the record itself is not changed)
--
-- One detection context per Lua state (Fluent Bit gives each [FILTER] its
-- own state): the library's threading model is satisfied as long as one
-- state is never entered by two threads at once, which Lua forbids anyway.

local ffi = require("ffi")

local M = {}

-- ===== C ABI (the subset of include/t1071/t1071detect.h used here) =====

-- Guarded: a host may load this script twice into one Lua state, and
-- ffi.cdef refuses to redefine a type.
if not pcall(ffi.typeof, "t1071_ctx") then
    ffi.cdef [[
typedef struct t1071_config t1071_config;
typedef struct t1071_ctx t1071_ctx;
typedef struct t1071_alert_batch t1071_alert_batch;

unsigned t1071_version_number(void);
const char *t1071_version_string(void);
const char *t1071_strerror(int status);

int t1071_config_new(t1071_config **out);
void t1071_config_free(t1071_config *cfg);
int t1071_config_set(t1071_config *cfg, const char *key, const char *value);
int t1071_config_load_file(t1071_config *cfg, const char *path);
const char *t1071_config_errmsg(const t1071_config *cfg);

int t1071_init(t1071_ctx **out, const t1071_config *cfg);
void t1071_free(t1071_ctx *ctx);
const char *t1071_errmsg(const t1071_ctx *ctx);

int t1071_feed_json(t1071_ctx *ctx, const char *json, size_t len);
int t1071_advance(t1071_ctx *ctx, int64_t event_time_ms);

int t1071_poll_alerts(t1071_ctx *ctx, t1071_alert_batch **out);
size_t t1071_alert_batch_count(const t1071_alert_batch *batch);
int t1071_alert_batch_get_json(t1071_alert_batch *batch, size_t i,
                               const char **json, size_t *len);
void t1071_alert_batch_free(t1071_alert_batch *batch);

const char *t1071_stat_name(int id);
int t1071_stats_get(const t1071_ctx *ctx, int id, uint64_t *value);
]]
end

local T1071_OK = 0
local T1071_E_QUEUE_FULL = -6
local INT64_MAX = 0x7fffffffffffffffLL
local SONAME = "libt1071detect.so.0"

-- ===== JSON encoder (Lua table -> JSON text) =====
--
-- Mirrors what Fluent Bit itself does when it turns a Lua table back into
-- msgpack: a table whose keys are exactly 1..n (n > 0, holes allowed) is an
-- array, any other table an object; an empty table is an object.  Integral
-- numbers are written as integers, others with enough digits to read back
-- the same double; NaN and infinities become null, as does the global
-- flb_null (Fluent Bit's enable_flb_null).

local floor, huge = math.floor, math.huge
local fmt, byte, concat = string.format, string.byte, table.concat

local ESCAPES = {
    ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
    ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t',
}
local function escape_char(c)
    return ESCAPES[c] or fmt("\\u%04x", byte(c))
end

local function quote(s)
    if s:find('[%z\1-\31\127"\\]') then
        s = s:gsub('[%z\1-\31\127"\\]', escape_char)
    end
    return '"' .. s .. '"'
end

local TWO63 = 2 ^ 63

local function number_text(n)
    if n ~= n or n == huge or n == -huge then
        return "null"
    end
    if n == floor(n) and n >= -TWO63 and n < TWO63 then
        return fmt("%.0f", n)
    end
    local s = fmt("%.14g", n)
    if tonumber(s) ~= n then
        s = fmt("%.17g", n)
    end
    return s
end

-- n when t is an array of n elements, else nil.
local function array_length(t)
    local n = #t
    if n == 0 then
        return nil
    end
    for k in pairs(t) do
        if type(k) ~= "number" or k < 1 or k > n or k ~= floor(k) then
            return nil
        end
    end
    return n
end

local MAX_DEPTH = 200

local encode_value

local function key_text(k)
    local tk = type(k)
    if tk == "string" then
        return quote(k)
    elseif tk == "number" then
        return '"' .. number_text(k) .. '"'
    end
    return quote(tostring(k))
end

-- Appends the JSON of v to buf (a list of pieces); returns the new length.
encode_value = function(v, buf, nb, depth)
    local tv = type(v)
    if tv == "string" then
        nb = nb + 1; buf[nb] = quote(v)
    elseif tv == "number" then
        nb = nb + 1; buf[nb] = number_text(v)
    elseif tv == "boolean" then
        nb = nb + 1; buf[nb] = v and "true" or "false"
    elseif tv == "table" then
        if depth >= MAX_DEPTH then
            error("t1071.lua: record nested deeper than " .. MAX_DEPTH .. " levels", 0)
        end
        local n = array_length(v)
        if n then
            nb = nb + 1; buf[nb] = "["
            for i = 1, n do
                if i > 1 then nb = nb + 1; buf[nb] = "," end
                local e = v[i]
                if e == nil then
                    nb = nb + 1; buf[nb] = "null"
                else
                    nb = encode_value(e, buf, nb, depth + 1)
                end
            end
            nb = nb + 1; buf[nb] = "]"
        else
            nb = nb + 1; buf[nb] = "{"
            local first = true
            for k, e in pairs(v) do
                if not first then nb = nb + 1; buf[nb] = "," end
                first = false
                nb = nb + 1; buf[nb] = key_text(k)
                nb = nb + 1; buf[nb] = ":"
                nb = encode_value(e, buf, nb, depth + 1)
            end
            nb = nb + 1; buf[nb] = "}"
        end
    else
        -- flb_null (a light userdata), or anything Fluent Bit never passes.
        nb = nb + 1; buf[nb] = "null"
    end
    return nb
end

--- JSON text of a Lua value.  Raises an error for a table nested deeper
--- than 200 levels.
function M.json_encode(v)
    local buf = {}
    local nb = encode_value(v, buf, 0, 0)
    return concat(buf, "", 1, nb)
end

-- ===== JSON decoder (JSON text -> Lua table) =====
--
-- Enough for the library's alerts, and strict about the grammar.  JSON null
-- becomes the value `null` passed in (flb_null under Fluent Bit's
-- enable_flb_null, else nil: the key disappears, which is how Fluent Bit
-- itself hands nulls to Lua).

local char, sub, find, match = string.char, string.sub, string.find, string.match

local UNESCAPE = {
    ['"'] = '"', ['\\'] = '\\', ['/'] = '/', b = '\b', f = '\f',
    n = '\n', r = '\r', t = '\t',
}

local function utf8_char(cp)
    if cp < 0x80 then
        return char(cp)
    elseif cp < 0x800 then
        return char(0xC0 + floor(cp / 0x40), 0x80 + cp % 0x40)
    elseif cp < 0x10000 then
        return char(0xE0 + floor(cp / 0x1000), 0x80 + floor(cp / 0x40) % 0x40,
                    0x80 + cp % 0x40)
    end
    return char(0xF0 + floor(cp / 0x40000), 0x80 + floor(cp / 0x1000) % 0x40,
                0x80 + floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
end

--- Decode one JSON value from text s; JSON null decodes to `null`.
function M.json_decode(s, null)
    local pos = 1
    local len = #s

    local function fail(what)
        error(fmt("t1071.lua: bad JSON at byte %d: %s", pos, what), 0)
    end

    local function skip_ws()
        pos = find(s, "[^ \t\r\n]", pos) or len + 1
    end

    local function read_string()
        -- s[pos] is the opening quote.
        local i = pos + 1
        local parts, np = nil, 0
        while true do
            local j = find(s, '["\\]', i)
            if not j then
                fail("unterminated string")
            end
            if byte(s, j) == 34 then
                pos = j + 1
                if not parts then
                    return sub(s, i, j - 1)
                end
                np = np + 1; parts[np] = sub(s, i, j - 1)
                return concat(parts, "", 1, np)
            end
            parts = parts or {}
            np = np + 1; parts[np] = sub(s, i, j - 1)
            local e = sub(s, j + 1, j + 1)
            if e == "u" then
                local hex = match(s, "^%x%x%x%x", j + 2)
                if not hex then
                    pos = j
                    fail("bad \\u escape")
                end
                local cp = tonumber(hex, 16)
                i = j + 6
                if cp >= 0xD800 and cp <= 0xDBFF then
                    local lo = match(s, "^\\u(%x%x%x%x)", i)
                    lo = lo and tonumber(lo, 16)
                    if lo and lo >= 0xDC00 and lo <= 0xDFFF then
                        cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)
                        i = i + 6
                    else
                        cp = 0xFFFD
                    end
                elseif cp >= 0xDC00 and cp <= 0xDFFF then
                    cp = 0xFFFD
                end
                np = np + 1; parts[np] = utf8_char(cp)
            else
                local r = UNESCAPE[e]
                if not r then
                    pos = j
                    fail("bad escape")
                end
                np = np + 1; parts[np] = r
                i = j + 2
            end
        end
    end

    local read_value

    local function read_number()
        local text = match(s, "^-?%d+", pos)
        if not text or match(text, "^-?0%d") then
            fail("bad number")
        end
        local e = pos + #text
        local frac = match(s, "^%.%d+", e)
        if frac then e = e + #frac end
        local exp = match(s, "^[eE][-+]?%d+", e)
        if exp then e = e + #exp end
        local n = tonumber(sub(s, pos, e - 1))
        pos = e
        return n
    end

    read_value = function(depth)
        if depth > MAX_DEPTH then
            fail("nested too deep")
        end
        skip_ws()
        local c = byte(s, pos)
        if c == 34 then -- "
            return read_string()
        elseif c == 123 then -- {
            local t = {}
            pos = pos + 1
            skip_ws()
            if byte(s, pos) == 125 then
                pos = pos + 1
                return t
            end
            while true do
                skip_ws()
                if byte(s, pos) ~= 34 then
                    fail("expected a key")
                end
                local k = read_string()
                skip_ws()
                if byte(s, pos) ~= 58 then
                    fail("expected ':'")
                end
                pos = pos + 1
                t[k] = read_value(depth + 1)
                skip_ws()
                c = byte(s, pos)
                pos = pos + 1
                if c == 125 then
                    return t
                elseif c ~= 44 then
                    pos = pos - 1
                    fail("expected ',' or '}'")
                end
            end
        elseif c == 91 then -- [
            local t, n = {}, 0
            pos = pos + 1
            skip_ws()
            if byte(s, pos) == 93 then
                pos = pos + 1
                return t
            end
            while true do
                n = n + 1
                t[n] = read_value(depth + 1)
                skip_ws()
                c = byte(s, pos)
                pos = pos + 1
                if c == 93 then
                    return t
                elseif c ~= 44 then
                    pos = pos - 1
                    fail("expected ',' or ']'")
                end
            end
        elseif c == 116 and sub(s, pos, pos + 3) == "true" then
            pos = pos + 4
            return true
        elseif c == 102 and sub(s, pos, pos + 4) == "false" then
            pos = pos + 5
            return false
        elseif c == 110 and sub(s, pos, pos + 3) == "null" then
            pos = pos + 4
            return null
        elseif c == 45 or (c and c >= 48 and c <= 57) then
            return read_number()
        end
        fail(c and "unexpected character" or "unexpected end")
    end

    local v = read_value(0)
    skip_ws()
    if pos <= len then
        fail("trailing characters")
    end
    return v
end

-- ===== Settings =====

local function setting(name)
    local g = T1071_SETTINGS
    if type(g) == "table" and g[name] ~= nil then
        return g[name]
    end
    return os.getenv("T1071_" .. name:upper())
end

local function truthy(v)
    if type(v) == "string" then
        v = v:lower()
        return v == "1" or v == "true" or v == "yes" or v == "on"
    end
    return v == true or v == 1
end

-- The "section.key=value" pairs of T1071_SET, in order.
local function set_pairs(v)
    local out = {}
    local function add_text(text)
        for item in (text .. ";"):gmatch("([^;\n]*)[;\n]") do
            item = item:match("^%s*(.-)%s*$")
            if item ~= "" then
                local k, val = item:match("^([^=]-)%s*=%s*(.*)$")
                if not k or k == "" then
                    error("t1071.lua: T1071_SET item \"" .. item .. "\" is not section.key=value", 0)
                end
                out[#out + 1] = { k, val }
            end
        end
    end
    if type(v) == "string" then
        add_text(v)
    elseif type(v) == "table" then
        if #v > 0 then
            for _, item in ipairs(v) do
                add_text(tostring(item))
            end
        else
            local keys = {}
            for k in pairs(v) do keys[#keys + 1] = k end
            table.sort(keys)
            for _, k in ipairs(keys) do
                local val = v[k]
                if type(val) == "boolean" then val = val and "true" or "false" end
                out[#out + 1] = { k, tostring(val) }
            end
        end
    end
    return out
end

-- ===== Library and context =====

local function load_library(path)
    local ok, lib = pcall(ffi.load, path)
    if not ok then
        error("t1071.lua: cannot load libt1071detect (" .. path .. "): " .. tostring(lib)
              .. "; set T1071_LIBRARY to its path", 0)
    end
    local v = lib.t1071_version_number()
    if v < 100 or v >= 10000 then
        error("t1071.lua: " .. path .. " is libt1071detect " ..
              ffi.string(lib.t1071_version_string()) .. "; this script needs 0.x, x >= 1", 0)
    end
    return lib
end

local function new_context(lib, config_path, sets)
    local pcfg = ffi.new("t1071_config *[1]")
    local rc = lib.t1071_config_new(pcfg)
    if rc ~= T1071_OK then
        error("t1071.lua: t1071_config_new: " .. ffi.string(lib.t1071_strerror(rc)), 0)
    end
    local cfg = ffi.gc(pcfg[0], lib.t1071_config_free)
    local function check(what, r)
        if r ~= T1071_OK then
            error("t1071.lua: " .. what .. ": " .. ffi.string(lib.t1071_config_errmsg(cfg)), 0)
        end
    end
    if config_path and config_path ~= "" then
        check("config " .. config_path, lib.t1071_config_load_file(cfg, config_path))
    end
    for _, kv in ipairs(sets) do
        check("set " .. kv[1] .. "=" .. kv[2], lib.t1071_config_set(cfg, kv[1], kv[2]))
    end
    local pctx = ffi.new("t1071_ctx *[1]")
    rc = lib.t1071_init(pctx, cfg)
    if rc ~= T1071_OK then
        error("t1071.lua: t1071_init: " .. ffi.string(lib.t1071_strerror(rc)), 0)
    end
    -- Freed when the Lua state closes (Fluent Bit shutting down).
    return ffi.gc(pctx[0], lib.t1071_free)
end

local lib = load_library(setting("library") or SONAME)
local ctx = new_context(lib, setting("config"), set_pairs(setting("set")))
local alerts_only = truthy(setting("alerts_only"))
local mark = setting("mark")
if mark == nil then mark = "t1071_alert" end
local fill_timestamp = truthy(setting("fill_timestamp"))

-- ===== Feeding and polling =====

local counters = { records = 0, bad = 0, alerts = 0, queue_full = 0 }
local BAD_SHOWN = 5

local function log(...)
    io.stderr:write("[t1071] ", fmt(...), "\n")
end

local pbatch = ffi.new("t1071_alert_batch *[1]")
local pjson = ffi.new("const char *[1]")
local plen = ffi.new("size_t[1]")

-- Appends the queued alerts, as tables, to out.
local function poll(out)
    local rc = lib.t1071_poll_alerts(ctx, pbatch)
    if rc ~= T1071_OK then
        log("t1071_poll_alerts: %s", ffi.string(lib.t1071_strerror(rc)))
        return
    end
    local batch = pbatch[0]
    if batch == nil then
        return
    end
    local null = flb_null -- defined by Fluent Bit's enable_flb_null
    local ok, err = pcall(function()
        local n = tonumber(lib.t1071_alert_batch_count(batch))
        for i = 0, n - 1 do
            local r = lib.t1071_alert_batch_get_json(batch, i, pjson, plen)
            if r ~= T1071_OK then
                error("t1071_alert_batch_get_json: " .. ffi.string(lib.t1071_strerror(r)), 0)
            end
            local alert = M.json_decode(ffi.string(pjson[0], plen[0]), null)
            if mark ~= "" then
                alert[mark] = true
            end
            out[#out + 1] = alert
            counters.alerts = counters.alerts + 1
        end
    end)
    lib.t1071_alert_batch_free(batch)
    if not ok then
        log("%s", err)
    end
end

local function feed(json, out)
    local rc = lib.t1071_feed_json(ctx, json, #json)
    -- Not consumed: poll (which empties the queue), then feed it again.
    local tries = 0
    while rc == T1071_E_QUEUE_FULL and tries < 3 do
        counters.queue_full = counters.queue_full + 1
        poll(out)
        rc = lib.t1071_feed_json(ctx, json, #json)
        tries = tries + 1
    end
    if rc ~= T1071_OK then
        counters.bad = counters.bad + 1
        if counters.bad <= BAD_SHOWN then
            log("record %d skipped: %s (%s)%s", counters.records,
                ffi.string(lib.t1071_strerror(rc)), ffi.string(lib.t1071_errmsg(ctx)),
                counters.bad == BAD_SHOWN and "; further bad records are only counted" or "")
        end
    end
end

-- Fluent Bit's record time (a double, or {sec, nsec} with time_as_table)
-- as an ECS @timestamp.
local function iso_time(ts)
    local sec, ms
    if type(ts) == "table" then
        sec = tonumber(ts.sec) or 0
        ms = floor((tonumber(ts.nsec) or 0) / 1e6)
    else
        sec = floor(tonumber(ts) or 0)
        ms = floor(((tonumber(ts) or 0) - sec) * 1000 + 0.5)
        if ms >= 1000 then sec, ms = sec + 1, ms - 1000 end
    end
    return os.date("!%Y-%m-%dT%H:%M:%S", sec) .. fmt(".%03dZ", ms)
end

local function record_json(ts, record)
    local json = M.json_encode(record)
    if fill_timestamp and record["@timestamp"] == nil and record["timestamp"] == nil then
        local sep = json == "{}" and "" or ","
        json = '{"@timestamp":"' .. iso_time(ts) .. '"' .. sep .. json:sub(2)
    end
    return json
end

--- The filter: Fluent Bit's `call cb`.
function cb(tag, timestamp, record)
    counters.records = counters.records + 1
    local alerts = {}
    local ok, json = pcall(record_json, timestamp, record)
    if ok then
        feed(json, alerts)
    else
        counters.bad = counters.bad + 1
        if counters.bad <= BAD_SHOWN then
            log("record %d skipped: %s", counters.records, json)
        end
    end
    poll(alerts)
    if #alerts == 0 then
        if alerts_only then
            return -1, timestamp, record
        end
        return 0, timestamp, record
    end
    if not alerts_only then
        table.insert(alerts, 1, record)
    end
    return 2, timestamp, alerts
end

--- End of input: run every buffered event (engine.lateness > 0) and return
--- the alerts that releases, as a list.  Fluent Bit has no shutdown hook for
--- Lua filters; a wrapper or a test calls this.
function t1071_flush()
    local out = {}
    for _ = 1, 1000 do
        local rc = lib.t1071_advance(ctx, INT64_MAX)
        if rc ~= T1071_E_QUEUE_FULL then
            if rc ~= T1071_OK then
                log("t1071_advance: %s", ffi.string(lib.t1071_strerror(rc)))
            end
            break
        end
        poll(out)
    end
    poll(out)
    return out
end

--- The library's counters and gauges by name, plus this script's own
--- (records, bad, alerts, queue_full) under "lua_".
function t1071_stats()
    local out = {}
    local v = ffi.new("uint64_t[1]")
    local id = 0
    while true do
        local name = lib.t1071_stat_name(id)
        if name == nil then break end
        if lib.t1071_stats_get(ctx, id, v) == T1071_OK then
            out[ffi.string(name)] = tonumber(v[0])
        end
        id = id + 1
    end
    for k, n in pairs(counters) do
        out["lua_" .. k] = n
    end
    return out
end

M.cb = cb
M.flush = t1071_flush
M.stats = t1071_stats
M.version = ffi.string(lib.t1071_version_string())
return M
