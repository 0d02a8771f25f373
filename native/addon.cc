// Entry point of the promshard addon: each concern registers its functions here (see addon.h).
#include "addon.h"

#include <napi.h>

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  promshard::InitCrc32c(env, exports);
  promshard::InitXor(env, exports);
  promshard::InitPostings(env, exports);
  promshard::InitMmap(env, exports);
  promshard::InitHeadChunks(env, exports);
  promshard::InitHugePages(env, exports);
  promshard::InitBlockPlan(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(promshard, Init)
