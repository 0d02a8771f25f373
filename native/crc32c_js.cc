// crc32c(buf, crc?) for JavaScript.
#include "addon.h"
#include "crc32c.h"
#include "js_util.h"

namespace promshard {
namespace {

Napi::Value Crc32c(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  js::Span<uint8_t> buf;
  if (!js::typedArrayArg(info, 0, napi_uint8_array, "crc32c", "buf", &buf)) return env.Undefined();
  double prev;
  if (!js::numberArg(info, 1, 0, "crc32c", "crc", &prev)) return env.Undefined();
  if (!js::isIntegerIn(prev, 0, 4294967295.0)) {
    return js::throwRangeError(env, "crc32c: crc must be an integer in [0, 2^32)");
  }
  const uint32_t crc = crc32c(static_cast<uint32_t>(prev), buf.data, buf.length);
  return Napi::Number::New(env, crc);
}

}  // namespace

void InitCrc32c(Napi::Env env, Napi::Object exports) {
  exports.Set("crc32c", Napi::Function::New(env, Crc32c, "crc32c"));
}

}  // namespace promshard
