import type { Node, NodeDef } from 'node-red';
import type { DeliveryReport } from './client';
import { SmsError } from './errors';
import type { Tracker } from './tracker';
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
  trackLimit?: string | number;
  /** Node-RED context store for tracking; empty = the default store. */
  trackStore?: string;
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
  /** One page of delivery reports; not queued behind sends. */
  fetchReports(limit: number, controller?: AbortController): Promise<DeliveryReport[]>;
  /** Present while a report node uses the account: remembers accepted messages. */
  tracker?: Tracker;
  /** A report node starts using the account's tracking (created on first use). */
  useTracking(reportNodeId: string): Tracker;
  releaseTracking(reportNodeId: string): void;
  closeJobs(jobs: Iterable<Job>): Promise<void>;
}

export const ACCOUNT_DEFAULTS = {
  concurrency: 8,
  rateLimit: 0,
  timeout: 30,
  retries: 3,
  throttleWait: 600,
  trackLimit: 10000,
};
/** How long closing waits for requests in flight; below Node-RED's 15 s close timeout. */
export const CLOSE_GRACE_MS = 10_000;
