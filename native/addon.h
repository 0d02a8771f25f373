// Each concern of the addon registers its exports with one init function, called from addon.cc.
#pragma once

#include <napi.h>

namespace promshard {

void InitCrc32c(Napi::Env env, Napi::Object exports);
void InitXor(Napi::Env env, Napi::Object exports);
void InitPostings(Napi::Env env, Napi::Object exports);
void InitMmap(Napi::Env env, Napi::Object exports);
void InitHeadChunks(Napi::Env env, Napi::Object exports);
void InitHugePages(Napi::Env env, Napi::Object exports);
void InitBlockPlan(Napi::Env env, Napi::Object exports);

}  // namespace promshard
