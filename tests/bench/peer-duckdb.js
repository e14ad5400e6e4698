#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// The peer benchmark (issue 17): DuckDB's windowed SQL against
// t1071-replay on the same NDJSON file, one core each, in one run.
//
//   node tests/bench/peer-duckdb.js T1071-REPLAY FILE.ndjson [RUNS]
//
// DuckDB comes from npm (@duckdb/node-api; not a build dependency):
//   npm install --prefix /tmp/duckdb-npm @duckdb/node-api
//   DUCKDB_NODE_MODULES=/tmp/duckdb-npm/node_modules node tests/bench/peer-duckdb.js ...
// (or install it into tests/bench/node_modules, which git ignores).
//
// DuckDB: SET threads=1; the faithful rule's whole filter in SQL
// (event.category has network, event.type has connection or start,
// network.direction egress, the default port list, destination.ip outside
// the five default CIDRs (IPv4 and IPv4-mapped IPv6; a missing address
// passes), process.name and process.entity_id present); then
// lag(t, 9) OVER (PARTITION BY key ORDER BY t, line) within 24 h counts
// the events that complete a sequence.  Timed: the query, from reading
// the file to the count (the instance is made before the clock starts).
// t1071-replay: NDJSON, default profile, --output pb > /dev/null, timed
// as a whole process; its sequence count is alerts_emitted from
// --stats-format json.  Each side is the best of RUNS (default 3), run
// alternately.  Pin both to one core with taskset for a fair figure:
//   taskset -c 1 node tests/bench/peer-duckdb.js ...
'use strict';
const path = require('path');
const fs = require('fs');
const { spawnSync } = require('child_process');

function loadDuckDB() {
    const dirs = [process.env.DUCKDB_NODE_MODULES, path.join(__dirname, 'node_modules')].filter(Boolean);
    for (const d of dirs) {
        try {
            return require(require.resolve('@duckdb/node-api', { paths: [d] }));
        } catch (e) { /* next */ }
    }
    try {
        return require('@duckdb/node-api');
    } catch (e) {
        console.error('peer-duckdb: @duckdb/node-api not found; install it with\n' +
            '  npm install --prefix /tmp/duckdb-npm @duckdb/node-api\n' +
            'and set DUCKDB_NODE_MODULES=/tmp/duckdb-npm/node_modules');
        process.exit(2);
    }
}

const PORTS = [80, 443, 53, 21, 25, 110, 143, 8080, 8443, 1883, 5222];

function query(file) {
    const f = file.replace(/'/g, "''");
    return `
WITH raw AS (
  SELECT row_number() OVER () AS line, *
  FROM read_ndjson('${f}', columns = {
    '@timestamp': 'VARCHAR',
    'event': 'STRUCT(category VARCHAR[], type VARCHAR[])',
    'network': 'STRUCT(direction VARCHAR)',
    'destination': 'STRUCT(ip VARCHAR, port BIGINT)',
    'process': 'STRUCT(entity_id VARCHAR, name VARCHAR)'
  })
), ev AS (
  SELECT line,
         epoch_ms(CAST("@timestamp" AS TIMESTAMP)) AS t,
         process.entity_id AS key,
         regexp_extract(destination.ip, '^(?:::ffff:)?([0-9]+)\\.([0-9]+)\\.[0-9]+\\.[0-9]+$',
                        ['a', 'b']) AS v4
  FROM raw
  WHERE list_contains(event.category, 'network')
    AND (list_contains(event.type, 'connection') OR list_contains(event.type, 'start'))
    AND network.direction = 'egress'
    AND destination.port IN (${PORTS.join(', ')})
    AND process.name IS NOT NULL
    AND process.entity_id IS NOT NULL
), kept AS (
  SELECT line, t, key FROM ev
  WHERE v4.a = '' OR NOT (
        CAST(v4.a AS INTEGER) = 10
     OR (CAST(v4.a AS INTEGER) = 172 AND CAST(v4.b AS INTEGER) BETWEEN 16 AND 31)
     OR (CAST(v4.a AS INTEGER) = 192 AND CAST(v4.b AS INTEGER) = 168)
     OR CAST(v4.a AS INTEGER) = 127
     OR (CAST(v4.a AS INTEGER) = 169 AND CAST(v4.b AS INTEGER) = 254))
), seq AS (
  SELECT t, lag(t, 9) OVER (PARTITION BY key ORDER BY t, line) AS t9 FROM kept
)
SELECT count(*) AS sequences FROM seq WHERE t9 IS NOT NULL AND t - t9 <= 86400000`;
}

async function main() {
    const [replay, file, runsArg] = process.argv.slice(2);
    if (!replay || !file) {
        console.error('usage: peer-duckdb.js T1071-REPLAY FILE.ndjson [RUNS]');
        process.exit(2);
    }
    const runs = Math.max(1, parseInt(runsArg || '3', 10));
    const { DuckDBInstance } = loadDuckDB();
    const inst = await DuckDBInstance.create(':memory:');
    const con = await inst.connect();
    await con.run('SET threads = 1');
    const ver = (await con.runAndReadAll('SELECT version()')).getRows()[0][0];
    const lines = fs.readFileSync(file).toString('latin1').split('\n').filter((l) => l.length).length;
    const devnull = fs.openSync('/dev/null', 'w');
    let best = { duck: Infinity, replay: Infinity };
    let nDuck = null, nReplay = null;

    for (let r = 0; r < runs; r++) {
        let t0 = process.hrtime.bigint();
        const res = await con.runAndReadAll(query(path.resolve(file)));
        let t1 = process.hrtime.bigint();
        nDuck = Number(res.getRows()[0][0]);
        best.duck = Math.min(best.duck, Number(t1 - t0) / 1e9);

        t0 = process.hrtime.bigint();
        const p = spawnSync(replay, ['--output', 'pb', '--stats', '--stats-format', 'json', file],
            { stdio: ['ignore', devnull, 'pipe'], maxBuffer: 1 << 26 });
        t1 = process.hrtime.bigint();
        if (p.status !== 0) {
            console.error(`t1071-replay exited ${p.status}: ${p.stderr}`);
            process.exit(1);
        }
        const m = /"alerts_emitted":(\d+)/.exec(p.stderr.toString());
        nReplay = m ? Number(m[1]) : NaN;
        best.replay = Math.min(best.replay, Number(t1 - t0) / 1e9);
    }
    const ns = (s) => (s / lines * 1e9).toFixed(0);
    console.log(`${file}: ${lines} lines, best of ${runs}`);
    console.log(`DuckDB ${ver} (threads=1, windowed SQL)   ${best.duck.toFixed(3)} s  ` +
        `${ns(best.duck)} ns/line  ${nDuck} sequences`);
    console.log(`t1071-replay (NDJSON, default, --output pb)  ${best.replay.toFixed(3)} s  ` +
        `${ns(best.replay)} ns/line  ${nReplay} sequences`);
    console.log(`ratio (DuckDB time / t1071-replay time)       ${(best.duck / best.replay).toFixed(2)}x`);
    if (nDuck !== nReplay) {
        console.log('sequence counts DIFFER');
        process.exit(1);
    }
    console.log('sequence counts agree');
}

main().catch((e) => { console.error(e); process.exit(1); });
