// blockPlan() for JavaScript: the series walk of a block select (block_plan.h) over a mapped index and
// mapped chunk segments.
#include <cstring>
#include <string>
#include <vector>

#include "addon.h"
#include "block_plan.h"
#include "js_util.h"

namespace promshard {
namespace {

constexpr uint32_t kMaxSegments = 1u << 20;

Napi::Uint32Array toJs(Napi::Env env, const std::vector<uint32_t>& v) {
  Napi::Uint32Array a = Napi::Uint32Array::New(env, v.size());
  if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * 4);
  return a;
}

// An array of n Uint8Arrays (n taken from the first array given, checked against the second).
bool bufferList(const Napi::CallbackInfo& info, size_t i, const char* arg, uint32_t want,
                std::vector<js::Span<uint8_t>>* out) {
  Napi::Env env = info.Env();
  if (i >= info.Length() || !info[i].IsArray()) {
    js::throwTypeError(env, std::string("blockPlan: ") + arg + " must be an array of Uint8Array");
    return false;
  }
  Napi::Array arr = info[i].As<Napi::Array>();
  const uint32_t n = arr.Length();
  if (n > kMaxSegments || (want != UINT32_MAX && n != want)) {
    js::throwRangeError(env, std::string("blockPlan: ") + arg + " has the wrong length");
    return false;
  }
  out->resize(n);
  for (uint32_t k = 0; k < n; k++) {
    Napi::Value v = arr.Get(k);
    if (env.IsExceptionPending()) return false;
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      js::throwTypeError(
          env, std::string("blockPlan: ") + arg + "[" + std::to_string(k) + "] must be a Uint8Array");
      return false;
    }
    Napi::Uint8Array a = v.As<Napi::Uint8Array>();
    (*out)[k].length = a.ElementLength();
    (*out)[k].data = (*out)[k].length == 0 ? nullptr : a.Data();
  }
  return true;
}

// blockPlan(index, seriesLo, seriesHi, numSymbols, refs, mint, maxt, segments, verified)
//   -> { keep, labelRefs, labelStart, chunkEnd, ranges, segOf, total }
// verified[k] is segment k's CRC bitmap (one bit per 8 bytes), updated in place.
Napi::Value BlockPlan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  js::Span<uint8_t> index;
  js::Span<uint32_t> refs;
  double lo, hi, nsym, mint, maxt;
  if (!js::typedArrayArg(info, 0, napi_uint8_array, "blockPlan", "index", &index) ||
      !js::numberArg(info, 1, 0, "blockPlan", "seriesLo", &lo) ||
      !js::numberArg(info, 2, 0, "blockPlan", "seriesHi", &hi) ||
      !js::numberArg(info, 3, 0, "blockPlan", "numSymbols", &nsym) ||
      !js::typedArrayArg(info, 4, napi_uint32_array, "blockPlan", "refs", &refs) ||
      !js::numberArg(info, 5, 0, "blockPlan", "mint", &mint) ||
      !js::numberArg(info, 6, 0, "blockPlan", "maxt", &maxt)) {
    return env.Undefined();
  }
  const double len = static_cast<double>(index.length);
  if (!js::isIntegerIn(lo, 0, len) || !js::isIntegerIn(hi, lo, len) || !js::isIntegerIn(nsym, 0, UINT32_MAX))
    return js::throwRangeError(env, "blockPlan: seriesLo, seriesHi or numSymbols out of range");
  if (mint != mint || maxt != maxt)
    return js::throwRangeError(env, "blockPlan: mint and maxt must not be NaN");
  std::vector<js::Span<uint8_t>> segs, verified;
  if (!bufferList(info, 7, "segments", UINT32_MAX, &segs) ||
      !bufferList(info, 8, "verified", static_cast<uint32_t>(segs.size()), &verified))
    return env.Undefined();
  std::vector<PlanSegment> ps(segs.size());
  for (size_t k = 0; k < segs.size(); k++)
    ps[k] = {segs[k].data, segs[k].length, verified[k].data, verified[k].length};

  PlanInput in{index.data,
               index.length,
               static_cast<uint64_t>(lo),
               static_cast<uint64_t>(hi),
               static_cast<uint32_t>(nsym),
               refs.data,
               refs.length,
               mint,
               maxt,
               ps.data(),
               ps.size()};
  SelectPlan plan;
  plan.keep.reserve(refs.length);
  plan.labelStart.reserve(refs.length + 1);
  plan.chunkEnd.reserve(refs.length);
  plan.labelRefs.reserve(refs.length * 12);
  plan.ranges.reserve(refs.length * 8);
  plan.segOf.reserve(refs.length * 4);
  const std::string err = planSelect(in, &plan);
  if (!err.empty()) return js::throwError(env, err);

  Napi::Object r = Napi::Object::New(env);
  r.Set("keep", toJs(env, plan.keep));
  r.Set("labelRefs", toJs(env, plan.labelRefs));
  r.Set("labelStart", toJs(env, plan.labelStart));
  r.Set("chunkEnd", toJs(env, plan.chunkEnd));
  r.Set("ranges", toJs(env, plan.ranges));
  r.Set("segOf", toJs(env, plan.segOf));
  r.Set("total", Napi::Number::New(env, static_cast<double>(plan.total)));
  return r;
}

}  // namespace

void InitBlockPlan(Napi::Env env, Napi::Object exports) {
  exports.Set("blockPlan", Napi::Function::New(env, BlockPlan, "blockPlan"));
}

}  // namespace promshard
