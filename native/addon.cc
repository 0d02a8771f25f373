// Entry point of the promshard addon: each concern registers its functions here.
#include <napi.h>

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  return exports;
}

}  // namespace

NODE_API_MODULE(promshard, Init)
