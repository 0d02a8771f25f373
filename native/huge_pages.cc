// adviseHuge(buf): lets the kernel back a large, still untouched output buffer (decoded select columns)
// with 2 MiB transparent huge pages. On this project's VMs a fault on fresh 4 KiB pages costs ~10 us, so
// 768 MB of fresh columns per 48M-sample select spent seconds in the kernel; with huge pages that is one
// fault per 2 MiB. THP is often in `madvise` mode, hence MADV_HUGEPAGE.
#include <sys/mman.h>

#include <cstdint>

#include "addon.h"
#include "js_util.h"

namespace promshard {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

// adviseHuge(buf: ArrayBuffer): asks for huge pages on the 2 MiB-aligned interior of an ordinary (V8
// owned) ArrayBuffer's memory; returns the bytes advised. The buffer stays transferable between threads
// (an external buffer of our own mapping would be copied by postMessage). Only the
// VMA's flags change (no byte of the buffer is read or written), so it is safe on any buffer; it helps
// only while the pages are still untouched, i.e. right after Buffer.allocUnsafeSlow of a size glibc
// serves with its own mmap (> 32 MiB always is).
Napi::Value AdviseHuge(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) {
    return js::throwTypeError(env, "adviseHuge: buf must be an ArrayBuffer");
  }
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  const uintptr_t start = reinterpret_cast<uintptr_t>(ab.Data());
  const size_t len = ab.ByteLength();
  if (start == 0 || len < kHugePage) return Napi::Number::New(env, 0);
  const uintptr_t lo = (start + kHugePage - 1) & ~(uintptr_t{kHugePage} - 1);
  const uintptr_t hi = (start + len) & ~(uintptr_t{kHugePage} - 1);
  if (hi <= lo) return Napi::Number::New(env, 0);
  // EINVAL (no THP in this kernel) or EPERM just leave 4 KiB pages: report 0 rather than fail the caller.
  if (::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE) != 0) return Napi::Number::New(env, 0);
  return Napi::Number::New(env, static_cast<double>(hi - lo));
}

}  // namespace

void InitHugePages(Napi::Env env, Napi::Object exports) {
  exports.Set("adviseHuge", Napi::Function::New(env, AdviseHuge, "adviseHuge"));
  exports.Set("hugePageSize", Napi::Number::New(env, static_cast<double>(kHugePage)));
}

}  // namespace promshard
