import type { Node, NodeDef } from 'node-red';
import { SmsError } from './errors';
import { Job, JobHooks, JobListener } from './pipeline';
import { SendRequest } from './request';

export interface AccountConfig extends NodeDef {
  baseUrl: string;
  authType: 'apiKey' | 'basic';
  concurrency?: string | number;
  rateLimit?: string | number;
  queueLimit?: string | number;
  timeout?: string | number;
  retries?: string | number;
  throttleWait?: string | number;
}

export interface AccountCredentials {
  apiKey?: string;
  username?: string;
  password?: string;
}

/** What a binary-sms node uses of its account. */
export interface AccountNode extends Node<AccountCredentials> {
  /** The first problem of the account's settings; every send fails with it. */
  configError?: SmsError;
  submit(request: SendRequest, hooks: JobHooks, listener: JobListener): Job;
  closeJobs(jobs: Iterable<Job>): Promise<void>;
}

export const ACCOUNT_DEFAULTS = { concurrency: 8, rateLimit: 0, timeout: 30, retries: 3, throttleWait: 600 };
/** How long closing waits for requests in flight; below Node-RED's 15 s close timeout. */
export const CLOSE_GRACE_MS = 10_000;
