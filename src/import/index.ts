// nslab import: a lab that reproduces a machine's network configuration, made from a snapshot of it. `nslab snapshot`
// (snapshot.ts) reads the machine's links, addresses, routes of every table, rules, table names and the sysctls that
// decide which way replies go, as iproute2 prints them in JSON (`ip -j`), on this machine or in a lab node's namespace;
// it only reads. `nslab import FILE` (import-file.ts) reads that file through its schema (schema.ts, check.ts: every
// wrong field at its JSON path, exit 2), maps the checked snapshot to a lab (to-lab.ts: the machine as the host node,
// a router and a client per interface, a core router joining the routers, and tests that replies leave where requests
// came in; each part in its own file, with the addresses and names of what it invents in addressing.ts and names.ts),
// renders the lab as the YAML file, with notes on what was left out on top (render.ts), and checks that text as `nslab
// validate` would (verify.ts): a problem there is import's own, said at the part of the snapshot that gave it.
export { takeSnapshot, type Snapshot } from './snapshot.js';
export { checkSnapshot, readSnapshotFile } from './check.js';
export { snapshotToLab } from './to-lab.js';
