import type { ProbeKind } from '../lab/schema.js';
import { exec } from './exec.js';
import { flows } from './flows.js';
import { ping } from './ping.js';
import { route } from './route.js';
import { tcp } from './tcp.js';
import { throughput } from './throughput.js';
import type { Probe } from './types.js';
import { udp } from './udp.js';

export const PROBES: Record<ProbeKind, Probe> = { ping, tcp, udp, route, exec, flows, throughput };
export type { Check, ProbeOutcome, ProbeContext } from './types.js';
