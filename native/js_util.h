// Argument helpers for the Node-API glue. We build with NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS: errors
// are thrown as pending JS exceptions and the caller returns at once (return values are ignored by V8
// while an exception is pending).
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

namespace promshard::js {

inline Napi::Value throwError(Napi::Env env, const std::string& msg) {
  Napi::Error::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

inline Napi::Value throwTypeError(Napi::Env env, const std::string& msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

inline Napi::Value throwRangeError(Napi::Env env, const std::string& msg) {
  Napi::RangeError::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

// A typed array argument of one element type; data is null only when length is 0.
template <typename T>
struct Span {
  T* data = nullptr;
  size_t length = 0;
};

// "fn: arg", built only when an error is thrown, so the happy path allocates nothing.
inline std::string argName(const char* fn, const char* arg) {
  return arg == nullptr ? std::string(fn) : std::string(fn) + ": " + arg;
}

// Reads argument i as a typed array of the given type; on mismatch throws a TypeError and returns false.
template <typename T>
bool typedArrayArg(const Napi::CallbackInfo& info, size_t i, napi_typedarray_type type, const char* fn,
                   const char* arg, Span<T>* out) {
  Napi::Env env = info.Env();
  napi_typedarray_type actual;
  size_t length;
  void* data;
  napi_value arraybuffer;
  size_t byteOffset;
  // napi_get_typedarray_info itself rejects non-typed-arrays (without throwing): one call, not two.
  if (i >= info.Length() ||
      napi_get_typedarray_info(env, info[i], &actual, &length, &data, &arraybuffer, &byteOffset) != napi_ok) {
    throwTypeError(env, argName(fn, arg) + " must be a typed array");
    return false;
  }
  if (actual != type) {
    throwTypeError(env, argName(fn, arg) + " has the wrong element type");
    return false;
  }
  out->data = length == 0 ? nullptr : static_cast<T*>(data);
  out->length = data == nullptr ? 0 : length;
  return true;
}

// Reads an optional numeric argument; absent or undefined gives def. Non-numbers throw a TypeError.
inline bool numberArg(const Napi::CallbackInfo& info, size_t i, double def, const char* fn, const char* arg,
                      double* out) {
  if (i >= info.Length()) {
    *out = def;
    return true;
  }
  // The common case, a number, in one Node-API call; undefined and errors are sorted out afterwards.
  if (napi_get_value_double(info.Env(), info[i], out) == napi_ok) return true;
  if (info[i].IsUndefined()) {
    *out = def;
    return true;
  }
  throwTypeError(info.Env(), argName(fn, arg) + " must be a number");
  return false;
}

// True when d is an integer in [lo, hi] (hi, lo within +-2^63). Uses a round trip through int64 rather
// than std::trunc, which is a libm call on baseline x86-64.
inline bool isIntegerIn(double d, double lo, double hi) {
  return d >= lo && d <= hi && static_cast<double>(static_cast<int64_t>(d)) == d;
}

// Reads an optional index argument in [0, limit]; absent or undefined gives def.
inline bool indexArg(const Napi::CallbackInfo& info, size_t i, size_t def, size_t limit, const char* fn,
                     const char* arg, size_t* out) {
  double d;
  if (!numberArg(info, i, static_cast<double>(def), fn, arg, &d)) return false;
  if (!isIntegerIn(d, 0, static_cast<double>(limit))) {
    throwRangeError(info.Env(),
                    argName(fn, arg) + " must be an integer in [0, " + std::to_string(limit) + "]");
    return false;
  }
  *out = static_cast<size_t>(d);
  return true;
}

// A millisecond timestamp carried as a double: it must be an integer within +-2^53.
inline bool doubleToMillis(double d, int64_t* out) {
  if (!isIntegerIn(d, -9007199254740992.0, 9007199254740992.0)) return false;
  *out = static_cast<int64_t>(d);
  return true;
}

// The single-name forms (the whole "fn: arg" text in `what`), kept for callers such as head_chunks.cc.
template <typename T>
bool typedArrayArg(const Napi::CallbackInfo& info, size_t i, napi_typedarray_type type, const char* what,
                   Span<T>* out) {
  return typedArrayArg(info, i, type, what, nullptr, out);
}
inline bool numberArg(const Napi::CallbackInfo& info, size_t i, double def, const char* what, double* out) {
  return numberArg(info, i, def, what, nullptr, out);
}
inline bool indexArg(const Napi::CallbackInfo& info, size_t i, size_t def, size_t limit, const char* what,
                     size_t* out) {
  return indexArg(info, i, def, limit, what, nullptr, out);
}

}  // namespace promshard::js
