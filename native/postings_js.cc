// Postings set operations for JavaScript: Uint32Array lists in, a new Uint32Array out.
#include <cstring>
#include <string>
#include <vector>

#include "addon.h"
#include "js_util.h"
#include "postings.h"

namespace promshard {
namespace {

constexpr uint32_t kMaxLists = 1u << 20;

// what() names the argument for the error message; called only on error.
template <class What>
bool listArg(Napi::Env env, Napi::Value value, What what, U32Span* out) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
    js::throwTypeError(env, what() + " must be a Uint32Array");
    return false;
  }
  Napi::Uint32Array a = value.As<Napi::Uint32Array>();
  const size_t n = a.ElementLength();
  out->data = n == 0 ? nullptr : a.Data();
  out->size = out->data == nullptr ? 0 : n;
  return true;
}

bool listsArg(const Napi::CallbackInfo& info, const char* fn, std::vector<U32Span>* out) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) {
    js::throwTypeError(env, std::string(fn) + ": lists must be an array of Uint32Array");
    return false;
  }
  Napi::Array arr = info[0].As<Napi::Array>();
  const uint32_t n = arr.Length();
  // A sparse array can claim 2^32 - 1 elements; refuse before allocating for them.
  if (n > kMaxLists) {
    js::throwRangeError(env, std::string(fn) + ": at most " + std::to_string(kMaxLists) + " lists");
    return false;
  }
  out->reserve(n);
  for (uint32_t i = 0; i < n; i++) {
    Napi::Value v = arr.Get(i);
    if (env.IsExceptionPending()) return false;  // a getter threw
    U32Span s;
    if (!listArg(
            env, v, [&] { return std::string(fn) + ": lists[" + std::to_string(i) + "]"; }, &s))
      return false;
    out->push_back(s);
  }
  return true;
}

Napi::Value result(Napi::Env env, const char* fn, const char* err, const U32Vec& out) {
  if (err != nullptr) return js::throwError(env, std::string(fn) + ": " + err);
  Napi::Uint32Array r = Napi::Uint32Array::New(env, out.size());
  if (!out.empty()) std::memcpy(r.Data(), out.data(), out.size() * 4);
  return r;
}

Napi::Value Intersect(const Napi::CallbackInfo& info) {
  std::vector<U32Span> lists;
  if (!listsArg(info, "intersect", &lists)) return info.Env().Undefined();
  U32Vec out;
  const char* err = intersectLists(std::move(lists), out);
  return result(info.Env(), "intersect", err, out);
}

Napi::Value Union(const Napi::CallbackInfo& info) {
  std::vector<U32Span> lists;
  if (!listsArg(info, "union", &lists)) return info.Env().Undefined();
  U32Vec out;
  const char* err = unionLists(lists, out);
  return result(info.Env(), "union", err, out);
}

Napi::Value Difference(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  U32Span a, b;
  if (info.Length() < 2) return js::throwTypeError(env, "difference: expects (a, b)");
  if (!listArg(
          env, info[0], [] { return std::string("difference: a"); }, &a) ||
      !listArg(
          env, info[1], [] { return std::string("difference: b"); }, &b)) {
    return env.Undefined();
  }
  U32Vec out;
  const char* err = differenceLists(a, b, out);
  return result(env, "difference", err, out);
}

}  // namespace

void InitPostings(Napi::Env env, Napi::Object exports) {
  exports.Set("intersect", Napi::Function::New(env, Intersect, "intersect"));
  exports.Set("union", Napi::Function::New(env, Union, "union"));
  exports.Set("difference", Napi::Function::New(env, Difference, "difference"));
}

}  // namespace promshard
