import { type DailyAnswer, type DailyLimit, MINUTE_MS, type OwnDailyLimit, WINDOW_MINUTES, minuteOf } from '../daily';
import type { SharedState } from './redis';

/**
 * One check-and-count in Redis, atomic for the whole cluster: KEYS[1] is a hash minute → parts.
 * ARGV: the current minute, the window in minutes, the parts asked for, the limit. Minutes that
 * left the window are deleted. Returns { admitted 1|0, parts used, the oldest minute whose leaving
 * makes room (-1: none) }.
 */
const TAKE = `
local current, window, parts, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local flat = redis.call('HGETALL', KEYS[1])
local used, minutes = 0, {}
for i = 1, #flat, 2 do
  local minute, counted = tonumber(flat[i]), tonumber(flat[i + 1])
  if minute <= current - window then
    redis.call('HDEL', KEYS[1], flat[i])
  else
    used = used + counted
    minutes[#minutes + 1] = { minute, counted }
  end
end
if used + parts > limit then
  if parts > limit then return { 0, used, -1 } end
  table.sort(minutes, function(a, b) return a[1] < b[1] end)
  local need, freed = used + parts - limit, 0
  for _, entry in ipairs(minutes) do
    freed = freed + entry[2]
    if freed >= need then return { 0, used, entry[1] } end
  end
  return { 0, used, -1 }
end
if parts > 0 then
  redis.call('HINCRBY', KEYS[1], ARGV[1], parts)
  redis.call('PEXPIRE', KEYS[1], (window + 1) * ${MINUTE_MS})
end
return { 1, used + parts, -1 }
`;

/** Takes parts back from a minute's count, never below zero (KEYS[1] the hash, ARGV the minute and the parts). */
const GIVE_BACK = `
local left = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') - tonumber(ARGV[2])
if left > 0 then redis.call('HSET', KEYS[1], ARGV[1], left) else redis.call('HDEL', KEYS[1], ARGV[1]) end
return left
`;

/** How often the cluster's count is read while nothing is sent, for the sidebar and the metrics. */
const REFRESH_MS = 10_000;

/**
 * The daily limit of every copy of the account together: each take is one atomic script in Redis,
 * so concurrent sends from several copies never admit more than the limit. While Redis is out of
 * reach this copy counts alone (its own sends, recorded all along), as its other limits do.
 */
export class SharedDaily implements DailyLimit {
  private readonly key: string;
  private lastUsed = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly shared: SharedState,
    private readonly own: OwnDailyLimit,
    accountId: string,
    private readonly now: () => number = Date.now,
  ) {
    this.key = shared.key('daily', accountId);
    this.timer = setInterval(() => void this.ask(0).catch(() => undefined), REFRESH_MS);
    this.timer.unref();
  }

  get limit(): number {
    return this.own.limit;
  }

  async take(parts: number): Promise<DailyAnswer> {
    await this.shared.connected;
    if (!this.shared.available) return this.own.take(parts);
    try {
      const answer = await this.ask(parts);
      if (answer.admitted) await this.own.record(parts);
      return answer;
    } catch (error) {
      this.shared.failed(error);
      return this.own.take(parts);
    }
  }

  giveBack(minute: number, parts: number, shared?: boolean): void {
    this.own.giveBack(minute, parts);
    // Only what the cluster counted leaves the cluster's count (never below zero).
    if (!shared || !this.shared.available) return;
    this.shared.client
      .eval(GIVE_BACK, 1, this.key, String(minute), parts)
      .catch((error: unknown) => this.shared.failed(error));
  }

  used(): number {
    return this.shared.available ? this.lastUsed : this.own.used();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.own.close();
  }

  private async ask(parts: number): Promise<DailyAnswer> {
    const current = minuteOf(this.now());
    const [admitted, used, oldest] = (await this.shared.client.eval(
      TAKE,
      1,
      this.key,
      current,
      WINDOW_MINUTES,
      parts,
      this.own.limit,
    )) as [number, number, number];
    this.lastUsed = used;
    if (admitted === 1) return { admitted: true, used, limit: this.own.limit, minute: current, shared: true };
    const freesAt = oldest >= 0 ? (oldest + WINDOW_MINUTES) * MINUTE_MS : undefined;
    return { admitted: false, used, limit: this.own.limit, freesAt };
  }
}
