import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The file in Node-RED's user directory that keeps this instance's id across restarts. */
export const INSTANCE_FILE = '.infobip-binary-sms-instance';
const ids = new Map<string, string>();

/**
 * This Node-RED instance, as its tracked entries record it: a random id kept in the user
 * directory, so it stays the same across restarts and container re-creations (whose hostname
 * changes) while instances with user directories of their own sharing one store stay apart.
 * Without a user directory it lives as long as the process.
 */
export function instanceId(userDir: string | undefined): string {
  const key = userDir ?? '';
  let id = ids.get(key);
  if (id === undefined) {
    id = userDir ? readOrCreate(path.join(userDir, INSTANCE_FILE)) : crypto.randomUUID();
    ids.set(key, id);
  }
  return id;
}

/** How entries were marked before the id existed; they are still this instance's own. */
export const legacyOwner = (userDir: string | undefined) => `${os.hostname()}:${userDir ?? ''}`;

function readOrCreate(file: string): string {
  try {
    const kept = fs.readFileSync(file, 'utf8').trim();
    if (kept) return kept;
  } catch {
    // Not there yet: made below.
  }
  const id = crypto.randomUUID();
  try {
    fs.writeFileSync(file, id + '\n', { flag: 'wx' });
    return id;
  } catch {
    // Another process made it first, or the directory is read-only: use what is there, else this one.
    try {
      return fs.readFileSync(file, 'utf8').trim() || id;
    } catch {
      return id;
    }
  }
}
