/**
 * V8 CPU profiles of the main thread and of every worker thread (the shards) at once, through
 * node:inspector: one in-process Session profiles the main thread, and its NodeWorker domain attaches to
 * each worker's own inspector, where the same Profiler commands run inside that thread. No cooperation
 * from the worker code is needed, so a wedged shard is still profiled. The result is V8's Profile object,
 * which Chrome DevTools and speedscope open as a `.cpuprofile` file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

export interface CpuProfileNode {
  id: number;
  callFrame: {
    functionName: string;
    scriptId: string;
    url: string;
    lineNumber: number;
    columnNumber: number;
  };
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ThreadProfile {
  /** `main`, `shard-N` for shard workers (named through `threadName`), else `worker-<threadId>`. */
  thread: string;
  threadId: number;
  profile: CpuProfile;
}

export interface CaptureOptions {
  /** Sampling interval in microseconds (V8's default is 1000). */
  samplingIntervalUs?: number;
  /** Names a worker thread by its threadId (the shards write theirs into the shared counters). */
  threadName?: (threadId: number) => string | undefined;
}

type Post = (method: string, params?: object) => Promise<unknown>;

/** Profiles every thread for `seconds`; the main thread keeps running meanwhile (nothing blocks). */
export async function captureCpuProfiles(
  seconds: number,
  opts: CaptureOptions = {},
): Promise<ThreadProfile[]> {
  const interval = opts.samplingIntervalUs ?? 1000;
  const session = new Session();
  session.connect();
  const post: Post = (method, params = {}) =>
    new Promise((resolve, reject) =>
      session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))),
    );

  const workers: { sessionId: string; threadId: number }[] = [];
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let nextId = 1;
  session.on('NodeWorker.attachedToWorker', (m) => {
    const p = m.params as { sessionId: string; workerInfo: { workerId: string } };
    workers.push({ sessionId: p.sessionId, threadId: Number(p.workerInfo.workerId) });
  });
  session.on('NodeWorker.receivedMessageFromWorker', (m) => {
    const p = m.params as { message: string };
    let msg: { id?: number; result?: unknown; error?: { message: string } };
    try {
      msg = JSON.parse(p.message);
    } catch {
      return;
    }
    if (msg.id === undefined) return;
    const w = pending.get(msg.id);
    if (w === undefined) return;
    pending.delete(msg.id);
    if (msg.error) w.reject(new Error(msg.error.message));
    else w.resolve(msg.result);
  });
  const postWorker = (sessionId: string, method: string, params: object = {}): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      session.post(
        'NodeWorker.sendMessageToWorker',
        { sessionId, message: JSON.stringify({ id, method, params }) },
        (err) => {
          if (err) {
            pending.delete(id);
            reject(err);
          }
        },
      );
    });

  try {
    await post('NodeWorker.enable', { waitForDebuggerOnStart: false });
    // attachedToWorker events for existing workers arrive right after enable.
    await new Promise((r) => setTimeout(r, 100));
    const started: { sessionId: string; threadId: number }[] = [];
    for (const w of workers) {
      try {
        await postWorker(w.sessionId, 'Profiler.enable');
        await postWorker(w.sessionId, 'Profiler.setSamplingInterval', { interval });
        await postWorker(w.sessionId, 'Profiler.start');
        started.push(w);
      } catch {
        // A worker that ended meanwhile: nothing to profile.
      }
    }
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval });
    await post('Profiler.start');
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const out: ThreadProfile[] = [];
    const main = (await post('Profiler.stop')) as { profile: CpuProfile };
    out.push({ thread: 'main', threadId: 0, profile: main.profile });
    await post('Profiler.disable');
    for (const w of started) {
      try {
        const r = (await withTimeout(postWorker(w.sessionId, 'Profiler.stop'), 30_000)) as {
          profile: CpuProfile;
        };
        out.push({
          thread: opts.threadName?.(w.threadId) ?? `worker-${w.threadId}`,
          threadId: w.threadId,
          profile: r.profile,
        });
        await postWorker(w.sessionId, 'Profiler.disable').catch(() => {});
      } catch {
        // The worker exited during the capture.
      }
    }
    out.sort((a, b) => (a.thread === 'main' ? -1 : b.thread === 'main' ? 1 : a.threadId - b.threadId));
    return out;
  } finally {
    for (const p of pending.values()) p.reject(new Error('profiler session closed'));
    pending.clear();
    await post('NodeWorker.disable').catch(() => {});
    session.disconnect();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timed out')), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

export interface FunctionTime {
  functionName: string;
  /** `url:line` of the function (1-based line), or '' for V8's pseudo-frames. */
  location: string;
  selfMs: number;
  /** Share of the profiled time (0..1), idle included. */
  selfFraction: number;
}

export interface ProfileSummary {
  durationMs: number;
  samples: number;
  /** Time not in `(idle)`: what the thread spent working (incl. GC and `(program)`). */
  busyMs: number;
  top: FunctionTime[];
}

/** Self time per function (samples weighted by their time deltas), the `n` largest but `(idle)`. */
export function summarizeProfile(p: CpuProfile, n = 10): ProfileSummary {
  const byId = new Map<number, CpuProfileNode>();
  for (const node of p.nodes) byId.set(node.id, node);
  const selfUs = new Map<number, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  // timeDeltas[i] is the time before sample i; the time until the next sample belongs to sample i.
  for (let i = 0; i < samples.length; i++) {
    const dt = i + 1 < deltas.length ? deltas[i + 1] : 0;
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(0, dt));
  }
  const byFunction = new Map<string, FunctionTime>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    total += us;
    const cf = node.callFrame;
    if (cf.functionName === '(idle)') idle += us;
    const location = cf.url === '' ? '' : `${shortUrl(cf.url)}:${cf.lineNumber + 1}`;
    const name = cf.functionName === '' ? '(anonymous)' : cf.functionName;
    const key = `${name}\u0000${location}`;
    const f = byFunction.get(key);
    if (f) f.selfMs += us / 1000;
    else byFunction.set(key, { functionName: name, location, selfMs: us / 1000, selfFraction: 0 });
  }
  // Idle time is in busyMs already; the list is about where the work went.
  const top = [...byFunction.values()]
    .filter((f) => f.functionName !== '(idle)')
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, n);
  for (const f of top) {
    f.selfFraction = total > 0 ? Math.round(((f.selfMs * 1000) / total) * 1000) / 1000 : 0;
    f.selfMs = Math.round(f.selfMs * 10) / 10;
  }
  return {
    durationMs: Math.round((p.endTime - p.startTime) / 100) / 10,
    samples: samples.length,
    busyMs: Math.round((total - idle) / 100) / 10,
    top,
  };
}

/** Paths relative to the package where possible: `dist/src/tsdb/head.js` rather than a file:// URL. */
function shortUrl(url: string): string {
  const u = url.startsWith('file://') ? url.slice(7) : url;
  const i = u.lastIndexOf('/dist/');
  if (i >= 0) return u.slice(i + 1);
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) return u.slice(nm + 1);
  return u;
}

/** The text summary: per thread, its busy time and the top functions by self time. */
export function formatSummary(threads: readonly { thread: string; summary: ProfileSummary }[]): string {
  const lines: string[] = [];
  for (const { thread, summary: s } of threads) {
    lines.push(
      `== ${thread}: ${s.samples} samples over ${(s.durationMs / 1000).toFixed(1)} s, busy ${(s.busyMs / 1000).toFixed(2)} s (${s.durationMs > 0 ? ((100 * s.busyMs) / s.durationMs).toFixed(1) : '0'} %)`,
    );
    lines.push('   self ms   self %  function  (location)');
    for (const f of s.top) {
      lines.push(
        `${f.selfMs.toFixed(1).padStart(10)} ${(f.selfFraction * 100).toFixed(1).padStart(7)} %  ${f.functionName}${f.location ? `  (${f.location})` : ''}`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}

export interface WrittenProfiles {
  dir: string;
  files: { thread: string; file: string; summary: ProfileSummary }[];
  summaryFile: string;
  summaryText: string;
}

/** Writes `<thread>.cpuprofile` per thread and `summary.txt` into `dir` (created). */
export function writeProfiles(dir: string, profiles: readonly ThreadProfile[], topN = 10): WrittenProfiles {
  mkdirSync(dir, { recursive: true });
  const files = profiles.map((p) => {
    const file = join(dir, `${p.thread}.cpuprofile`);
    writeFileSync(file, JSON.stringify(p.profile));
    return { thread: p.thread, file, summary: summarizeProfile(p.profile, topN) };
  });
  const summaryText = formatSummary(files);
  const summaryFile = join(dir, 'summary.txt');
  writeFileSync(summaryFile, summaryText);
  return { dir, files, summaryFile, summaryText };
}
