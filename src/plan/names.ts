// Names of what nslab creates. Every namespace starts with the prefix, so that
// `nslab cleanup` and the tests can tell nslab's namespaces from anyone else's.
import { UsageError } from '../errors.js';

export const PREFIX = 'nslab-';

/**
 * The instance name identifies one running copy of a lab: the lab name alone for
 * a lab brought up by hand (predictable: `ip netns exec nslab-<lab>-<node>`),
 * or `<lab>.<id>` for concurrent copies (tests, --instance).
 */
export function instanceName(lab: string, id?: string): string {
  return id ? `${lab}.${id}` : lab;
}

export function nsName(instance: string, node: string): string {
  return `${PREFIX}${instance}-${node}`;
}

export const INSTANCE_ID = /^[a-z0-9]{1,12}$/;

export function checkInstanceId(id: string | undefined): string | undefined {
  if (id !== undefined && !INSTANCE_ID.test(id)) throw new UsageError(`instance id '${id}' is not valid`, 'use 1-12 characters of a-z and 0-9');
  return id;
}

export function randomId(): string {
  return Math.random().toString(36).slice(2, 8).padEnd(6, '0');
}
