// The head chunk store of one shard (see head_chunks.h). Series are addressed by their shard-local ref,
// a dense index the TypeScript series registry hands out; slot 0 is never used. Each series costs one
// compact struct here (the XOR encoder state beside its open chunk bytes) instead of JS objects.
//
// Chunk cutting follows Prometheus 2.42 (tsdb/head_append.go, memSeries.appendPreprocessor): a chunk
// ends at the next chunk-range boundary (2h, aligned); once it holds a quarter of 120 samples its end is
// re-estimated so that the range is split into chunks of about 120 samples; and it is cut at 240 samples
// whatever the estimate said.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "addon.h"
#include "js_util.h"
#include "xor.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace promshard {
namespace {

constexpr int64_t kNoTime = std::numeric_limits<int64_t>::min();
constexpr uint16_t kSamplesPerChunk = 120;

// Per-sample result codes; src/tsdb/head-chunks.ts mirrors them.
enum : uint8_t {
  kAppended = 0,
  kDuplicateIgnored = 1,
  kOutOfOrder = 2,
  kDuplicateTimestamp = 3,
  kOutOfBounds = 4,
  kTooFarInFuture = 5,
  kInvalid = 6,
};

struct ClosedChunk {
  int64_t mint;
  int64_t maxt;
  std::unique_ptr<uint8_t[]> data;
  uint32_t len;
};

struct Series {
  XorState enc;                     // state of the open chunk's encoder
  std::vector<uint8_t> open;        // the open chunk's bytes (header included); empty before the first sample
  std::vector<ClosedChunk> closed;  // closed head chunks in time order
  int64_t openMint = kNoTime;       // first timestamp of the open chunk
  int64_t nextAt = kNoTime;         // the open chunk is cut at the first sample at or after this time
  int64_t maxt = kNoTime;           // the series' last timestamp (kNoTime: no sample yet)
};

// Go's integer division truncates towards zero, as C++'s does.
inline int64_t rangeForTimestamp(int64_t t, int64_t width) { return (t / width) * width + width; }

inline int64_t computeChunkEndTime(int64_t start, int64_t cur, int64_t max) {
  const int64_t n = (max - start) / ((cur - start + 1) * 4);
  if (n <= 1) return max;
  return start + (max - start) / n;
}

class HeadChunks : public Napi::ObjectWrap<HeadChunks> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "HeadChunks",
                       {
                           InstanceMethod<&HeadChunks::Grow>("grow"),
                           InstanceMethod<&HeadChunks::Append>("append"),
                           InstanceMethod<&HeadChunks::HeadRange>("headRange"),
                           InstanceMethod<&HeadChunks::Select>("select"),
                           InstanceMethod<&HeadChunks::Ranges>("ranges"),
                           InstanceMethod<&HeadChunks::ExportChunks>("exportChunks"),
                           InstanceMethod<&HeadChunks::Truncate>("truncate"),
                           InstanceMethod<&HeadChunks::Stats>("stats"),
                           InstanceMethod<&HeadChunks::TrimMemory>("trimMemory"),
                           InstanceMethod<&HeadChunks::Snapshot>("snapshot"),
                           InstanceMethod<&HeadChunks::Restore>("restore"),
                       });
  }

  explicit HeadChunks(const Napi::CallbackInfo& info) : Napi::ObjectWrap<HeadChunks>(info) {
    double range;
    if (!js::numberArg(info, 0, 7200000, "chunkRange", &range)) return;
    if (!(range >= 1 && range <= 1e15) || std::trunc(range) != range) {
      js::throwRangeError(info.Env(), "chunkRange must be a positive integer of milliseconds");
      return;
    }
    chunkRange_ = static_cast<int64_t>(range);
    series_.resize(1);
  }

 private:
  // grow(n): makes refs [1, n) addressable.
  Napi::Value Grow(const Napi::CallbackInfo& info) {
    size_t n;
    if (!js::indexArg(info, 0, 0, 0xffffffffu, "n", &n)) return info.Env().Undefined();
    if (n > series_.size()) {
      if (n > series_.capacity()) series_.reserve(std::max(n, series_.capacity() * 3 / 2));
      series_.resize(n);
    }
    return Napi::Number::New(info.Env(), static_cast<double>(series_.size()));
  }

  // append(refs: Uint32Array, t: Float64Array, v: Float64Array, codes: Uint8Array, minValidFloor,
  // maxAllowedT): number appended. codes[i] gets the result of sample i. The appendable window is fixed
  // at the start of the call, as a Prometheus appender fixes it when created: samples older than
  // max(minValidFloor, head maxt - chunkRange/2) are out of bounds; on an empty head the first valid
  // sample sets head maxt.
  Napi::Value Append(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    js::Span<uint32_t> refs;
    js::Span<double> ts, vs;
    js::Span<uint8_t> codes;
    if (!js::typedArrayArg(info, 0, napi_uint32_array, "refs", &refs) ||
        !js::typedArrayArg(info, 1, napi_float64_array, "t", &ts) ||
        !js::typedArrayArg(info, 2, napi_float64_array, "v", &vs) ||
        !js::typedArrayArg(info, 3, napi_uint8_array, "codes", &codes)) {
      return env.Undefined();
    }
    const size_t n = refs.length;
    if (ts.length < n || vs.length < n || codes.length < n) {
      return js::throwRangeError(env, "append: t, v and codes must be at least as long as refs");
    }
    double floorD, maxAllowed;
    if (!js::numberArg(info, 4, -INFINITY, "minValidFloor", &floorD) ||
        !js::numberArg(info, 5, INFINITY, "maxAllowedT", &maxAllowed)) {
      return env.Undefined();
    }
    const int64_t floor = floorD <= -9.2e18 ? kNoTime : static_cast<int64_t>(floorD);
    bool windowSet = headMaxt_ != kNoTime;
    int64_t minValid = windowSet ? std::max(floor, headMaxt_ - chunkRange_ / 2) : floor;

    uint32_t appended = 0;
    for (size_t i = 0; i < n; i++) {
      const uint32_t ref = refs.data[i];
      int64_t t;
      if (ref == 0 || ref >= series_.size() || !js::doubleToMillis(ts.data[i], &t)) {
        codes.data[i] = kInvalid;
        continue;
      }
      if (ts.data[i] > maxAllowed) {
        codes.data[i] = kTooFarInFuture;
        continue;
      }
      if (!windowSet) {
        windowSet = true;
        minValid = std::max(floor, t - chunkRange_ / 2);
      }
      if (t < minValid) {
        codes.data[i] = kOutOfBounds;
        continue;
      }
      Series& s = series_[ref];
      uint64_t vbits;
      std::memcpy(&vbits, &vs.data[i], 8);
      if (s.maxt != kNoTime) {
        if (t < s.maxt) {
          codes.data[i] = kOutOfOrder;
          continue;
        }
        if (t == s.maxt) {
          codes.data[i] = s.enc.vbits == vbits ? kDuplicateIgnored : kDuplicateTimestamp;
          continue;
        }
      }
      appendSample(s, t, vs.data[i]);
      codes.data[i] = kAppended;
      appended++;
      if (headMint_ == kNoTime || t < headMint_) headMint_ = t;
      if (headMaxt_ == kNoTime || t > headMaxt_) headMaxt_ = t;
    }
    return Napi::Number::New(env, appended);
  }

  void appendSample(Series& s, int64_t t, double v) {
    if (s.open.empty()) {
      cut(s, t);
    } else {
      const uint16_t count = s.enc.count;
      if (count == kSamplesPerChunk / 4) s.nextAt = computeChunkEndTime(s.openMint, s.enc.t, s.nextAt);
      if (t >= s.nextAt || count >= kSamplesPerChunk * 2) {
        close(s);
        cut(s, t);
      }
    }
    // The open chunk's vector always has kXorAppendSlack bytes past the chunk for the encoder, so an
    // append resizes only when the chunk has grown into them; it grows in small steps (a doubling
    // vector would waste up to half of every chunk).
    const size_t before = xorChunkLength(s.enc);
    if (s.open.size() < before + kXorAppendSlack) {
      if (s.open.capacity() < before + kXorAppendSlack) s.open.reserve(before + kXorAppendSlack + 64);
      s.open.resize(before + kXorAppendSlack);
    }
    xorAppendRaw(s.enc, s.open.data(), t, v);
    openBytes_ += xorChunkLength(s.enc) - before;
    s.maxt = t;
  }

  void cut(Series& s, int64_t t) {
    xorInit(s.enc, s.open);
    openBytes_ += xorChunkLength(s.enc);
    openChunks_++;
    s.openMint = t;
    s.nextAt = rangeForTimestamp(t, chunkRange_);
  }

  // Moves the open chunk to the closed list as an exact-size buffer.
  void close(Series& s) {
    const uint32_t len = static_cast<uint32_t>(xorChunkLength(s.enc));
    ClosedChunk c{s.openMint, s.enc.t, std::make_unique<uint8_t[]>(len), len};
    std::memcpy(c.data.get(), s.open.data(), len);
    s.closed.push_back(std::move(c));
    closedChunks_++;
    closedBytes_ += len;
    openBytes_ -= len;
    openChunks_--;
    s.open.clear();
    s.open.shrink_to_fit();
  }

  // headRange(): [mint, maxt] of the appended samples, NaN when the head is empty.
  Napi::Value HeadRange(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env, 2);
    const bool empty = headMaxt_ == kNoTime;
    out.Set(0u, Napi::Number::New(env, empty ? NAN : static_cast<double>(headMint_)));
    out.Set(1u, Napi::Number::New(env, empty ? NAN : static_cast<double>(headMaxt_)));
    return out;
  }

  bool rangeArgs(const Napi::CallbackInfo& info, size_t i, int64_t* mint, int64_t* maxt) {
    double a, b;
    if (!js::numberArg(info, i, -INFINITY, "mint", &a) || !js::numberArg(info, i + 1, INFINITY, "maxt", &b)) {
      return false;
    }
    *mint = a <= -9.2e18  ? kNoTime
            : a >= 9.2e18 ? std::numeric_limits<int64_t>::max()
                          : static_cast<int64_t>(std::ceil(a));
    *maxt = b >= 9.2e18    ? std::numeric_limits<int64_t>::max()
            : b <= -9.2e18 ? kNoTime
                           : static_cast<int64_t>(std::floor(b));
    return true;
  }

  // select(refs: Uint32Array, mint, maxt): {counts: Uint32Array, t: Float64Array, v: Float64Array}, the
  // samples of each ref in [mint, maxt] one series after the other.
  Napi::Value Select(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    js::Span<uint32_t> refs;
    if (!js::typedArrayArg(info, 0, napi_uint32_array, "refs", &refs)) return env.Undefined();
    int64_t mint, maxt;
    if (!rangeArgs(info, 1, &mint, &maxt)) return env.Undefined();
    Napi::Uint32Array counts = Napi::Uint32Array::New(env, refs.length);
    std::vector<double> outT, outV;
    auto sink = [&](int64_t t, uint64_t vbits) {
      if (t < mint || t > maxt) return;
      double v;
      std::memcpy(&v, &vbits, 8);
      outT.push_back(static_cast<double>(t));
      outV.push_back(v);
    };
    for (size_t i = 0; i < refs.length; i++) {
      const size_t before = outT.size();
      const uint32_t ref = refs.data[i];
      if (ref != 0 && ref < series_.size()) {
        const Series& s = series_[ref];
        for (const ClosedChunk& c : s.closed) {
          if (c.maxt < mint || c.mint > maxt) continue;
          xorDecode(c.data.get(), c.len, sink);
        }
        if (!s.open.empty() && s.maxt >= mint && s.openMint <= maxt)
          xorDecode(s.open.data(), xorChunkLength(s.enc), sink);
      }
      counts[i] = static_cast<uint32_t>(outT.size() - before);
    }
    Napi::Float64Array t = Napi::Float64Array::New(env, outT.size());
    Napi::Float64Array v = Napi::Float64Array::New(env, outV.size());
    if (!outT.empty()) {
      std::memcpy(t.Data(), outT.data(), outT.size() * 8);
      std::memcpy(v.Data(), outV.data(), outV.size() * 8);
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("counts", counts);
    out.Set("t", t);
    out.Set("v", v);
    return out;
  }

  // ranges(refs, outMint: Float64Array, outMaxt: Float64Array): first and last timestamp held for each
  // ref (NaN for a series without samples).
  Napi::Value Ranges(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    js::Span<uint32_t> refs;
    js::Span<double> mints, maxts;
    if (!js::typedArrayArg(info, 0, napi_uint32_array, "refs", &refs) ||
        !js::typedArrayArg(info, 1, napi_float64_array, "outMint", &mints) ||
        !js::typedArrayArg(info, 2, napi_float64_array, "outMaxt", &maxts)) {
      return env.Undefined();
    }
    if (mints.length < refs.length || maxts.length < refs.length) {
      return js::throwRangeError(env, "ranges: output arrays shorter than refs");
    }
    for (size_t i = 0; i < refs.length; i++) {
      const uint32_t ref = refs.data[i];
      double lo = NAN, hi = NAN;
      if (ref != 0 && ref < series_.size()) {
        const Series& s = series_[ref];
        if (!s.closed.empty()) {
          lo = static_cast<double>(s.closed.front().mint);
          hi = static_cast<double>(s.closed.back().maxt);
        }
        if (!s.open.empty()) {
          if (std::isnan(lo)) lo = static_cast<double>(s.openMint);
          hi = static_cast<double>(s.maxt);
        }
      }
      mints.data[i] = lo;
      maxts.data[i] = hi;
    }
    return env.Undefined();
  }

  // exportChunks(refs, mint, maxt, includeOpen): the chunks of each ref overlapping [mint, maxt], for a
  // block writer: {index: Uint32Array (position in refs), mint, maxt: Float64Array, offsets: Uint32Array
  // (n+1 offsets into data), data: Uint8Array (XOR chunks, header included)}.
  Napi::Value ExportChunks(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    js::Span<uint32_t> refs;
    if (!js::typedArrayArg(info, 0, napi_uint32_array, "refs", &refs)) return env.Undefined();
    int64_t mint, maxt;
    if (!rangeArgs(info, 1, &mint, &maxt)) return env.Undefined();
    const bool includeOpen = info.Length() > 3 && info[3].ToBoolean().Value();
    struct Item {
      uint32_t index;
      int64_t mint, maxt;
      const uint8_t* data;
      size_t len;
    };
    std::vector<Item> items;
    size_t total = 0;
    for (size_t i = 0; i < refs.length; i++) {
      const uint32_t ref = refs.data[i];
      if (ref == 0 || ref >= series_.size()) continue;
      const Series& s = series_[ref];
      for (const ClosedChunk& c : s.closed) {
        if (c.maxt < mint || c.mint > maxt) continue;
        items.push_back({static_cast<uint32_t>(i), c.mint, c.maxt, c.data.get(), c.len});
        total += c.len;
      }
      if (includeOpen && !s.open.empty() && s.maxt >= mint && s.openMint <= maxt) {
        const size_t len = xorChunkLength(s.enc);
        items.push_back({static_cast<uint32_t>(i), s.openMint, s.maxt, s.open.data(), len});
        total += len;
      }
    }
    if (total > 0xffffffffu)
      return js::throwRangeError(env, "exportChunks: more than 4 GiB of chunks; ask for fewer refs");
    Napi::Uint32Array index = Napi::Uint32Array::New(env, items.size());
    Napi::Float64Array mints = Napi::Float64Array::New(env, items.size());
    Napi::Float64Array maxts = Napi::Float64Array::New(env, items.size());
    Napi::Uint32Array offsets = Napi::Uint32Array::New(env, items.size() + 1);
    Napi::Uint8Array data = Napi::Uint8Array::New(env, total);
    size_t off = 0;
    for (size_t k = 0; k < items.size(); k++) {
      index[k] = items[k].index;
      mints[k] = static_cast<double>(items[k].mint);
      maxts[k] = static_cast<double>(items[k].maxt);
      offsets[k] = static_cast<uint32_t>(off);
      std::memcpy(data.Data() + off, items[k].data, items[k].len);
      off += items[k].len;
    }
    offsets[items.size()] = static_cast<uint32_t>(off);
    Napi::Object out = Napi::Object::New(env);
    out.Set("index", index);
    out.Set("mint", mints);
    out.Set("maxt", maxts);
    out.Set("offsets", offsets);
    out.Set("data", data);
    return out;
  }

  // truncate(before): drops the chunks whose samples are all older than `before` (the open chunk too
  // when the series' last sample is older); returns how many were dropped. Head mint is recomputed.
  Napi::Value Truncate(const Napi::CallbackInfo& info) {
    double b;
    if (!js::numberArg(info, 0, -INFINITY, "before", &b)) return info.Env().Undefined();
    if (std::isnan(b)) return js::throwRangeError(info.Env(), "truncate: before must be a number");
    double dropped = 0;
    int64_t newMint = kNoTime;
    for (Series& s : series_) {
      size_t k = 0;
      while (k < s.closed.size() && static_cast<double>(s.closed[k].maxt) < b) {
        closedBytes_ -= s.closed[k].len;
        k++;
      }
      if (k > 0) {
        s.closed.erase(s.closed.begin(), s.closed.begin() + static_cast<std::ptrdiff_t>(k));
        closedChunks_ -= k;
        dropped += static_cast<double>(k);
      }
      // A series that stopped before `before` still has its last chunk open: it went to the block too.
      if (!s.open.empty() && static_cast<double>(s.maxt) < b) {
        openBytes_ -= xorChunkLength(s.enc);
        openChunks_--;
        s.open.clear();
        s.open.shrink_to_fit();
        xorInitState(s.enc);
        dropped++;
      }
      const int64_t first = !s.closed.empty() ? s.closed.front().mint
                            : !s.open.empty() ? s.openMint
                                              : kNoTime;
      if (first != kNoTime && (newMint == kNoTime || first < newMint)) newMint = first;
    }
    headMint_ = newMint;
    if (newMint == kNoTime) headMaxt_ = kNoTime;
    return Napi::Number::New(info.Env(), dropped);
  }

  // snapshot(refs): the complete chunk state of each ref, for a WAL checkpoint (see src/tsdb/README.md,
  // record 0x52). Little-endian, 8-byte aligned fields:
  //   per series: ref u32, nClosed u32, openLen u32, 0 u32, openMint i64, nextAt i64, maxt i64,
  //     encoder: t i64, tDelta u64, vbits u64, bitLen u32, count u16, leading u8, trailing u8;
  //     nClosed x (mint i64, maxt i64, len u32, 0 u32, bytes padded to 8); open bytes padded to 8.
  Napi::Value Snapshot(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    js::Span<uint32_t> refs;
    if (!js::typedArrayArg(info, 0, napi_uint32_array, "refs", &refs)) return env.Undefined();
    auto pad8 = [](size_t n) { return (n + 7) & ~size_t{7}; };
    size_t total = 0;
    for (size_t i = 0; i < refs.length; i++) {
      const uint32_t ref = refs.data[i];
      if (ref == 0 || ref >= series_.size()) return js::throwRangeError(env, "snapshot: unknown ref");
      const Series& s = series_[ref];
      total += 16 + 24 + 32 + pad8(s.open.empty() ? 0 : xorChunkLength(s.enc));
      for (const ClosedChunk& c : s.closed) total += 24 + pad8(c.len);
    }
    Napi::Uint8Array out = Napi::Uint8Array::New(env, total);
    uint8_t* p = out.Data();
    std::memset(p, 0, total);
    auto put = [&p](const void* v, size_t n) {
      std::memcpy(p, v, n);
      p += n;
    };
    const uint32_t zero = 0;
    for (size_t i = 0; i < refs.length; i++) {
      const uint32_t ref = refs.data[i];
      const Series& s = series_[ref];
      const uint32_t nClosed = static_cast<uint32_t>(s.closed.size());
      const uint32_t openLen = s.open.empty() ? 0 : static_cast<uint32_t>(xorChunkLength(s.enc));
      put(&ref, 4);
      put(&nClosed, 4);
      put(&openLen, 4);
      put(&zero, 4);
      put(&s.openMint, 8);
      put(&s.nextAt, 8);
      put(&s.maxt, 8);
      put(&s.enc.t, 8);
      put(&s.enc.tDelta, 8);
      put(&s.enc.vbits, 8);
      put(&s.enc.bitLen, 4);
      put(&s.enc.count, 2);
      put(&s.enc.leading, 1);
      put(&s.enc.trailing, 1);
      for (const ClosedChunk& c : s.closed) {
        put(&c.mint, 8);
        put(&c.maxt, 8);
        put(&c.len, 4);
        put(&zero, 4);
        put(c.data.get(), c.len);
        p += pad8(c.len) - c.len;
      }
      if (openLen > 0) {
        put(s.open.data(), openLen);
        p += pad8(openLen) - openLen;
      }
    }
    return out;
  }

  // restore(buf): replaces the chunk state of the series in a snapshot() buffer (refs must be
  // addressable); returns how many series. Every length is checked: a checkpoint file is untrusted.
  Napi::Value Restore(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    js::Span<uint8_t> buf;
    if (!js::typedArrayArg(info, 0, napi_uint8_array, "buf", &buf)) return env.Undefined();
    const uint8_t* p = buf.data;
    const uint8_t* end = buf.data + buf.length;
    auto get = [&p, end](void* v, size_t n) {
      if (static_cast<size_t>(end - p) < n) return false;
      std::memcpy(v, p, n);
      p += n;
      return true;
    };
    auto pad8 = [](size_t n) { return (n + 7) & ~size_t{7}; };
    double restored = 0;
    while (p < end) {
      uint32_t ref, nClosed, openLen, zero;
      Series s;
      if (!get(&ref, 4) || !get(&nClosed, 4) || !get(&openLen, 4) || !get(&zero, 4) || !get(&s.openMint, 8) ||
          !get(&s.nextAt, 8) || !get(&s.maxt, 8) || !get(&s.enc.t, 8) || !get(&s.enc.tDelta, 8) ||
          !get(&s.enc.vbits, 8) || !get(&s.enc.bitLen, 4) || !get(&s.enc.count, 2) ||
          !get(&s.enc.leading, 1) || !get(&s.enc.trailing, 1)) {
        return js::throwRangeError(env, "restore: truncated series header");
      }
      if (ref == 0 || ref >= series_.size()) return js::throwRangeError(env, "restore: unknown ref");
      if (nClosed > (end - p) / 24) return js::throwRangeError(env, "restore: bad chunk count");
      for (uint32_t k = 0; k < nClosed; k++) {
        ClosedChunk c{0, 0, nullptr, 0};
        uint32_t len;
        if (!get(&c.mint, 8) || !get(&c.maxt, 8) || !get(&len, 4) || !get(&zero, 4) ||
            static_cast<size_t>(end - p) < pad8(len) || len < 2) {
          return js::throwRangeError(env, "restore: truncated chunk");
        }
        c.len = len;
        c.data = std::make_unique<uint8_t[]>(len);
        std::memcpy(c.data.get(), p, len);
        p += pad8(len);
        s.closed.push_back(std::move(c));
      }
      if (openLen > 0) {
        if (static_cast<size_t>(end - p) < pad8(openLen) || openLen != xorChunkLength(s.enc) ||
            s.enc.count == 0) {
          return js::throwRangeError(env, "restore: open chunk length does not match its encoder");
        }
        s.open.assign(p, p + openLen);
        s.open.resize(openLen + kXorAppendSlack);
        p += pad8(openLen);
      } else if (s.enc.count != 0) {
        return js::throwRangeError(env, "restore: encoder without an open chunk");
      }
      Series& dst = series_[ref];
      forget(dst);
      dst = std::move(s);
      account(dst);
      restored++;
    }
    return Napi::Number::New(env, restored);
  }

  // Removes a series' chunks from the totals / adds them (restore replaces a series wholesale).
  void forget(const Series& s) {
    for (const ClosedChunk& c : s.closed) closedBytes_ -= c.len;
    closedChunks_ -= s.closed.size();
    if (!s.open.empty()) {
      openChunks_--;
      openBytes_ -= xorChunkLength(s.enc);
    }
  }

  void account(const Series& s) {
    for (const ClosedChunk& c : s.closed) {
      closedBytes_ += c.len;
      if (headMint_ == kNoTime || c.mint < headMint_) headMint_ = c.mint;
    }
    closedChunks_ += s.closed.size();
    if (!s.open.empty()) {
      openChunks_++;
      openBytes_ += xorChunkLength(s.enc);
      if (headMint_ == kNoTime || s.openMint < headMint_) headMint_ = s.openMint;
    }
    if (s.maxt != kNoTime && (headMaxt_ == kNoTime || s.maxt > headMaxt_)) headMaxt_ = s.maxt;
  }

  // trimMemory(): returns freed heap pages to the OS (glibc keeps them otherwise; a shard frees many
  // short-lived batch buffers). A no-op elsewhere. Cheap enough to call every few seconds.
  Napi::Value TrimMemory(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
    return info.Env().Undefined();
  }

  // stats(): {slots, chunks, closedChunks, bytes}.
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    out.Set("slots", Napi::Number::New(env, static_cast<double>(series_.size())));
    out.Set("chunks", Napi::Number::New(env, static_cast<double>(closedChunks_ + openChunks_)));
    out.Set("closedChunks", Napi::Number::New(env, static_cast<double>(closedChunks_)));
    out.Set("bytes", Napi::Number::New(env, static_cast<double>(closedBytes_ + openBytes_)));
    return out;
  }

  std::vector<Series> series_;
  int64_t chunkRange_ = 7200000;
  int64_t headMint_ = kNoTime;
  int64_t headMaxt_ = kNoTime;
  size_t closedChunks_ = 0;
  size_t closedBytes_ = 0;
  size_t openChunks_ = 0;
  size_t openBytes_ = 0;
};

}  // namespace

void InitHeadChunks(Napi::Env env, Napi::Object exports) {
  exports.Set("HeadChunks", HeadChunks::Define(env));
}

}  // namespace promshard
