// XOR chunk encode/decode for JavaScript. Timestamps cross as Float64Array (int64 milliseconds are exact
// up to 2^53), values as Float64Array with their bits kept (stale-marker NaN payloads, -0).
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "addon.h"
#include "js_util.h"
#include "xor.h"

namespace promshard {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

inline double bitsToDouble(uint64_t b) {
  double d;
  std::memcpy(&d, &b, 8);
  return d;
}

Napi::Value throwBadTimestamp(Napi::Env env, const char* fn, size_t index) {
  return js::throwRangeError(env, std::string(fn) + ": timestamp at index " + std::to_string(index) +
                                      " is not an integer number of milliseconds within +-2^53");
}

// Reads (t, v, start?, end?) at argument index first.
bool samplesArgs(const Napi::CallbackInfo& info, size_t first, const char* fn, js::Span<double>* t,
                 js::Span<double>* v, size_t* start, size_t* end) {
  if (!js::typedArrayArg(info, first, napi_float64_array, fn, "t", t)) return false;
  if (!js::typedArrayArg(info, first + 1, napi_float64_array, fn, "v", v)) return false;
  if (t->length != v->length) {
    js::throwRangeError(info.Env(), js::argName(fn, "t and v must have the same length"));
    return false;
  }
  if (!js::indexArg(info, first + 2, 0, t->length, fn, "start", start)) return false;
  if (!js::indexArg(info, first + 3, t->length, t->length, fn, "end", end)) return false;
  if (*start > *end) {
    js::throwRangeError(info.Env(), js::argName(fn, "start must not exceed end"));
    return false;
  }
  return true;
}

Napi::Value XorEncode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  js::Span<double> t, v;
  size_t start, end;
  if (!samplesArgs(info, 0, "xorEncode", &t, &v, &start, &end)) return env.Undefined();
  const size_t n = end - start;
  if (n > kXorMaxSamples) return js::throwRangeError(env, "xorEncode: a chunk holds at most 65535 samples");
  // The encoder writes every byte it later reads, so the scratch buffer needs no initialisation.
  const size_t need = 2 + n * 20 + kXorAppendSlack;
  uint8_t stackBuf[4096];
  std::unique_ptr<uint8_t[]> heapBuf;
  uint8_t* buf = stackBuf;
  if (need > sizeof stackBuf) {
    heapBuf.reset(new uint8_t[need]);
    buf = heapBuf.get();
  }
  XorState s;
  xorInitState(s);
  buf[0] = buf[1] = 0;
  if (n > 0) {
    const size_t done = xorAppendBatchMillis(s, buf, t.data + start, v.data + start, n);
    if (done != n) return throwBadTimestamp(env, "xorEncode", start + done);
  }
  const size_t len = xorChunkLength(s);
  Napi::Uint8Array out = Napi::Uint8Array::New(env, len);
  std::memcpy(out.Data(), buf, len);
  return out;
}

// xorEncodeMany(t, v, bounds) -> {data, offsets}: chunk i holds samples [bounds[i], bounds[i+1]) and is
// data[offsets[i], offsets[i+1]). Many chunks per call, so the call's fixed cost is shared by all of them.
Napi::Value XorEncodeMany(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  constexpr const char* fn = "xorEncodeMany";
  js::Span<double> t, v;
  js::Span<uint32_t> bounds;
  if (!js::typedArrayArg(info, 0, napi_float64_array, fn, "t", &t) ||
      !js::typedArrayArg(info, 1, napi_float64_array, fn, "v", &v) ||
      !js::typedArrayArg(info, 2, napi_uint32_array, fn, "bounds", &bounds)) {
    return env.Undefined();
  }
  if (t.length != v.length)
    return js::throwRangeError(env, "xorEncodeMany: t and v must have the same length");
  if (bounds.length == 0) return js::throwRangeError(env, "xorEncodeMany: bounds needs at least one entry");
  const size_t chunks = bounds.length - 1;
  for (size_t c = 0; c < chunks; c++) {
    const uint32_t a = bounds.data[c];
    const uint32_t b = bounds.data[c + 1];
    if (a > b || b > t.length) {
      return js::throwRangeError(env, "xorEncodeMany: bounds must be non-decreasing and within t");
    }
    if (b - a > kXorMaxSamples)
      return js::throwRangeError(env, "xorEncodeMany: a chunk holds at most 65535 samples");
  }
  const size_t samples = chunks > 0 ? bounds.data[chunks] - bounds.data[0] : 0;
  std::unique_ptr<uint8_t[]> buf(
      new uint8_t[chunks * (2 + kXorAppendSlack) + samples * 20 + kXorAppendSlack]);
  Napi::Uint32Array offsets = Napi::Uint32Array::New(env, chunks + 1);
  uint32_t* off = offsets.Data();
  size_t pos = 0;
  for (size_t c = 0; c < chunks; c++) {
    off[c] = static_cast<uint32_t>(pos);
    const uint32_t a = bounds.data[c];
    const uint32_t n = bounds.data[c + 1] - a;
    XorState s;
    xorInitState(s);
    uint8_t* chunk = buf.get() + pos;
    chunk[0] = chunk[1] = 0;
    if (n > 0) {
      const size_t done = xorAppendBatchMillis(s, chunk, t.data + a, v.data + a, n);
      if (done != n) return throwBadTimestamp(env, fn, a + done);
    }
    pos += xorChunkLength(s);
  }
  off[chunks] = static_cast<uint32_t>(pos);
  if (pos > 0xffffffffu) return js::throwRangeError(env, "xorEncodeMany: output larger than 4 GiB");
  Napi::Uint8Array data = Napi::Uint8Array::New(env, pos);
  if (pos > 0) std::memcpy(data.Data(), buf.get(), pos);
  Napi::Object result = Napi::Object::New(env);
  result.Set("data", data);
  result.Set("offsets", offsets);
  return result;
}

bool chunkArg(const Napi::CallbackInfo& info, size_t i, const char* fn, js::Span<uint8_t>* chunk) {
  return js::typedArrayArg(info, i, napi_uint8_array, fn, "chunk", chunk);
}

bool rangeArgs(const Napi::CallbackInfo& info, size_t i, const char* fn, double* mint, double* maxt) {
  return js::numberArg(info, i, -kInf, fn, "mint", mint) &&
         js::numberArg(info, i + 1, kInf, fn, "maxt", maxt);
}

Napi::Value XorDecode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  js::Span<uint8_t> chunk;
  double mint, maxt;
  if (!chunkArg(info, 0, "xorDecode", &chunk) || !rangeArgs(info, 1, "xorDecode", &mint, &maxt)) {
    return env.Undefined();
  }
  const uint32_t cap = xorPlausibleCount(chunk.data, chunk.length);
  Napi::ArrayBuffer tb = Napi::ArrayBuffer::New(env, static_cast<size_t>(cap) * 8);
  Napi::ArrayBuffer vb = Napi::ArrayBuffer::New(env, static_cast<size_t>(cap) * 8);
  double* outT = static_cast<double*>(tb.Data());
  double* outV = static_cast<double*>(vb.Data());
  size_t n = 0;
  const char* err = xorDecode(chunk.data, chunk.length, [&](int64_t ts, uint64_t vbits) {
    const double td = static_cast<double>(ts);
    if (td >= mint && td <= maxt && n < cap) {
      outT[n] = td;
      outV[n] = bitsToDouble(vbits);
      n++;
    }
  });
  if (err != nullptr) return js::throwError(env, std::string("xorDecode: ") + err);
  Napi::Object result = Napi::Object::New(env);
  result.Set("t", Napi::Float64Array::New(env, n, tb, 0));
  result.Set("v", Napi::Float64Array::New(env, n, vb, 0));
  return result;
}

// Decodes one chunk into out[at...], filtered to [mint, maxt]. Returns the count written or -1 after
// throwing.
int64_t decodeInto(Napi::Env env, const char* fn, const uint8_t* chunk, size_t len, double mint, double maxt,
                   double* outT, double* outV, size_t at, size_t cap) {
  size_t n = at;
  const char* err;
  bool overflow = false;
  if (cap - at >= xorPlausibleCount(chunk, len)) {
    // Room for every sample the chunk can hold: no capacity check per sample, and the window filter is
    // branch-free (each sample is written, and kept by advancing n only when inside the window).
    if (mint == -kInf && maxt == kInf) {
      err = xorDecode(chunk, len, [&](int64_t ts, uint64_t vbits) {
        outT[n] = static_cast<double>(ts);
        outV[n] = bitsToDouble(vbits);
        n++;
      });
    } else {
      // Samples are in time order: decoding stops at the first one past maxt.
      err = xorDecode(chunk, len, [&](int64_t ts, uint64_t vbits) {
        const double td = static_cast<double>(ts);
        outT[n] = td;
        outV[n] = bitsToDouble(vbits);
        n += (td >= mint) & (td <= maxt);
        return td <= maxt;
      });
    }
  } else {
    err = xorDecode(chunk, len, [&](int64_t ts, uint64_t vbits) {
      const double td = static_cast<double>(ts);
      if (td >= mint && td <= maxt) {
        if (n < cap) {
          outT[n] = td;
          outV[n] = bitsToDouble(vbits);
          n++;
        } else {
          overflow = true;
        }
      }
    });
  }
  if (err != nullptr) {
    js::throwError(env, std::string(fn) + ": " + err);
    return -1;
  }
  if (overflow) {
    js::throwRangeError(env, std::string(fn) + ": the output arrays are too small for the decoded samples");
    return -1;
  }
  return static_cast<int64_t>(n - at);
}

bool outArgs(const Napi::CallbackInfo& info, size_t i, const char* fn, js::Span<double>* outT,
             js::Span<double>* outV, size_t* at) {
  if (!js::typedArrayArg(info, i, napi_float64_array, fn, "outT", outT)) return false;
  if (!js::typedArrayArg(info, i + 1, napi_float64_array, fn, "outV", outV)) return false;
  const size_t cap = outT->length < outV->length ? outT->length : outV->length;
  return js::indexArg(info, i + 2, 0, cap, fn, "at", at);
}

// xorDecodeInto(chunk, mint, maxt, outT, outV, at) -> count
Napi::Value XorDecodeInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  js::Span<uint8_t> chunk;
  js::Span<double> outT, outV;
  double mint, maxt;
  size_t at;
  if (!chunkArg(info, 0, "xorDecodeInto", &chunk) || !rangeArgs(info, 1, "xorDecodeInto", &mint, &maxt) ||
      !outArgs(info, 3, "xorDecodeInto", &outT, &outV, &at)) {
    return env.Undefined();
  }
  const size_t cap = outT.length < outV.length ? outT.length : outV.length;
  const int64_t n =
      decodeInto(env, "xorDecodeInto", chunk.data, chunk.length, mint, maxt, outT.data, outV.data, at, cap);
  if (n < 0) return env.Undefined();
  return Napi::Number::New(env, static_cast<double>(n));
}

// xorDecodeMany(data, ranges, mint, maxt, outT, outV, at, counts?) -> total. ranges holds [start, end)
// byte offsets of each chunk within data, two entries per chunk; counts (optional) receives the number
// of samples written for each chunk.
Napi::Value XorDecodeMany(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  js::Span<uint8_t> data;
  js::Span<uint32_t> ranges;
  js::Span<double> outT, outV;
  double mint, maxt;
  size_t at;
  if (!js::typedArrayArg(info, 0, napi_uint8_array, "xorDecodeMany", "data", &data) ||
      !js::typedArrayArg(info, 1, napi_uint32_array, "xorDecodeMany", "ranges", &ranges) ||
      !rangeArgs(info, 2, "xorDecodeMany", &mint, &maxt) ||
      !outArgs(info, 4, "xorDecodeMany", &outT, &outV, &at)) {
    return env.Undefined();
  }
  if (ranges.length % 2 != 0)
    return js::throwRangeError(env, "xorDecodeMany: ranges must hold [start, end) pairs");
  const size_t chunks = ranges.length / 2;
  js::Span<uint32_t> counts;
  if (info.Length() > 7 && !info[7].IsUndefined()) {
    if (!js::typedArrayArg(info, 7, napi_uint32_array, "xorDecodeMany", "counts", &counts))
      return env.Undefined();
    if (counts.length < chunks)
      return js::throwRangeError(env, "xorDecodeMany: counts is shorter than the chunk list");
  }
  const size_t cap = outT.length < outV.length ? outT.length : outV.length;
  for (size_t c = 0; c < chunks; c++) {
    const uint32_t s = ranges.data[2 * c];
    const uint32_t e = ranges.data[2 * c + 1];
    if (s > e || e > data.length) {
      return js::throwRangeError(env, "xorDecodeMany: chunk " + std::to_string(c) + " range [" +
                                          std::to_string(s) + ", " + std::to_string(e) + ") is outside data");
    }
  }
  size_t pos = at;
  for (size_t c = 0; c < chunks; c++) {
    const uint32_t s = ranges.data[2 * c];
    const uint32_t e = ranges.data[2 * c + 1];
    const int64_t n =
        decodeInto(env, "xorDecodeMany", data.data + s, e - s, mint, maxt, outT.data, outV.data, pos, cap);
    if (n < 0) return env.Undefined();
    if (counts.data != nullptr) counts.data[c] = static_cast<uint32_t>(n);
    pos += static_cast<size_t>(n);
  }
  return Napi::Number::New(env, static_cast<double>(pos - at));
}

Napi::Value XorInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  js::Span<uint8_t> chunk;
  if (!chunkArg(info, 0, "xorInfo", &chunk)) return env.Undefined();
  uint32_t count = 0;
  int64_t first = 0, last = 0;
  const char* err = xorDecode(chunk.data, chunk.length, [&](int64_t ts, uint64_t) {
    if (count == 0) first = ts;
    last = ts;
    count++;
  });
  if (err != nullptr) return js::throwError(env, std::string("xorInfo: ") + err);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Napi::Object result = Napi::Object::New(env);
  result.Set("count", Napi::Number::New(env, count));
  result.Set("mint", Napi::Number::New(env, count ? static_cast<double>(first) : nan));
  result.Set("maxt", Napi::Number::New(env, count ? static_cast<double>(last) : nan));
  return result;
}

// A chunk being built from batches of samples.
class XorAppender : public Napi::ObjectWrap<XorAppender> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "XorAppender",
                       {
                           InstanceMethod<&XorAppender::Append>("append"),
                           InstanceMethod<&XorAppender::Bytes>("bytes"),
                           InstanceMethod<&XorAppender::Reset>("reset"),
                           InstanceAccessor<&XorAppender::Count>("count"),
                           InstanceAccessor<&XorAppender::Mint>("mint"),
                           InstanceAccessor<&XorAppender::Maxt>("maxt"),
                       });
  }

  explicit XorAppender(const Napi::CallbackInfo& info) : Napi::ObjectWrap<XorAppender>(info) {
    xorInit(state_, buf_);
  }

 private:
  // append(t, v, start?, end?) -> count. All or nothing: a bad timestamp or an overfull chunk throws
  // before anything is appended.
  Napi::Value Append(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    js::Span<double> t, v;
    size_t start, end;
    if (!samplesArgs(info, 0, "XorAppender.append", &t, &v, &start, &end)) return env.Undefined();
    const size_t n = end - start;
    if (state_.count + n > kXorMaxSamples) {
      return js::throwRangeError(env, "XorAppender.append: a chunk holds at most 65535 samples");
    }
    if (n == 0) return Napi::Number::New(env, state_.count);
    const bool first = state_.count == 0;
    buf_.resize(xorChunkLength(state_) + n * 20 + kXorAppendSlack);
    const size_t done = xorAppendBatchMillis(state_, buf_.data(), t.data + start, v.data + start, n);
    buf_.resize(xorChunkLength(state_));
    if (done != n) return throwBadTimestamp(env, "XorAppender.append", start + done);
    if (first) mint_ = static_cast<int64_t>(t.data[start]);
    return Napi::Number::New(env, state_.count);
  }

  Napi::Value Bytes(const Napi::CallbackInfo& info) {
    Napi::Uint8Array out = Napi::Uint8Array::New(info.Env(), buf_.size());
    std::memcpy(out.Data(), buf_.data(), buf_.size());
    return out;
  }

  Napi::Value Reset(const Napi::CallbackInfo& info) {
    xorInit(state_, buf_);
    return info.Env().Undefined();
  }

  Napi::Value Count(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), state_.count); }
  Napi::Value Mint(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), state_.count ? static_cast<double>(mint_) : std::nan(""));
  }
  Napi::Value Maxt(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), state_.count ? static_cast<double>(state_.t) : std::nan(""));
  }

  XorState state_;
  int64_t mint_ = 0;
  std::vector<uint8_t> buf_;
};

}  // namespace

void InitXor(Napi::Env env, Napi::Object exports) {
  exports.Set("xorEncode", Napi::Function::New(env, XorEncode, "xorEncode"));
  exports.Set("xorEncodeMany", Napi::Function::New(env, XorEncodeMany, "xorEncodeMany"));
  exports.Set("xorDecode", Napi::Function::New(env, XorDecode, "xorDecode"));
  exports.Set("xorDecodeInto", Napi::Function::New(env, XorDecodeInto, "xorDecodeInto"));
  exports.Set("xorDecodeMany", Napi::Function::New(env, XorDecodeMany, "xorDecodeMany"));
  exports.Set("xorInfo", Napi::Function::New(env, XorInfo, "xorInfo"));
  exports.Set("XorAppender", XorAppender::Define(env));
}

}  // namespace promshard
