// ULIDs as Prometheus names its blocks: 48-bit millisecond time then 80 random bits, in Crockford
// base32 (26 characters). Within one process the sequence is strictly increasing: a ULID made in the
// same millisecond as the previous one (or after the clock stepped back) is the previous one plus 1.
import { randomFillSync } from 'node:crypto';

const ENC = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const MAX_TIME = 2 ** 48 - 1;

let lastTime = -1;
const lastRand = new Uint8Array(10);

function incrementRandom(): boolean {
  for (let i = 9; i >= 0; i--) {
    if (lastRand[i] !== 0xff) {
      lastRand[i]++;
      return true;
    }
    lastRand[i] = 0;
  }
  return false; // wrapped: 2^80 ULIDs in one millisecond
}

export function encodeUlid(timeMs: number, rand: Uint8Array): string {
  if (!Number.isInteger(timeMs) || timeMs < 0 || timeMs > MAX_TIME)
    throw new RangeError(`ULID time ${timeMs} out of range`);
  let s = '';
  let t = timeMs;
  const tc = new Array<string>(10);
  for (let i = 9; i >= 0; i--) {
    tc[i] = ENC[t % 32];
    t = Math.floor(t / 32);
  }
  s = tc.join('');
  // 80 bits = 16 groups of 5, most significant first.
  let acc = 0;
  let nbits = 0;
  for (let i = 0; i < 10; i++) {
    acc = (acc << 8) | rand[i];
    nbits += 8;
    while (nbits >= 5) {
      s += ENC[(acc >>> (nbits - 5)) & 31];
      nbits -= 5;
    }
    acc &= (1 << nbits) - 1;
  }
  return s;
}

/** A new ULID with the wall clock's time part, monotonic within this process. */
export function newUlid(now: number = Date.now()): string {
  if (now > lastTime) {
    lastTime = now;
    randomFillSync(lastRand);
    // Keep headroom so same-millisecond increments never wrap.
    lastRand[0] &= 0x7f;
  } else if (!incrementRandom()) {
    lastTime++;
    randomFillSync(lastRand);
    lastRand[0] &= 0x7f;
  }
  return encodeUlid(lastTime, lastRand);
}

/** The time part of a ULID, in ms since the epoch. */
export function ulidTime(ulid: string): number {
  let t = 0;
  for (let i = 0; i < 10; i++) {
    const d = ENC.indexOf(ulid[i]);
    if (d < 0) throw new RangeError(`not a ULID: ${ulid}`);
    t = t * 32 + d;
  }
  return t;
}
