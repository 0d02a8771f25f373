// allocHuge(n[, populate]): large output buffers (decoded select columns) backed by anonymous mappings
// that the kernel may back with 2 MiB transparent huge pages. On this project's VMs a fault on fresh 4 KiB
// pages costs ~10 us, so 768 MB of fresh columns per 48M-sample select spent seconds in the kernel; with
// huge pages that is one fault per 2 MiB. THP is often in `madvise` mode, hence MADV_HUGEPAGE.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "addon.h"
#include "js_util.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older kernels answer EINVAL and we fault pages lazily
#endif

namespace promshard {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;
// node::Buffer's (and so napi_create_external_arraybuffer's) limit in Node 20 is 2^32 bytes; the bound
// here only keeps the rounding arithmetic far from overflow. Larger requests fail in Node-API and take
// the fallback below.
constexpr double kMaxBytes = 9007199254740992.0;  // 2^53

// One anonymous private mapping, 2 MiB aligned, unmapped by the destructor.
class HugeRegion {
 public:
  // Maps `length` (a multiple of kHugePage) bytes; null with errno set on failure.
  static std::unique_ptr<HugeRegion> map(size_t length, bool populate) {
    // Over-map by one huge page and trim both ends so the region starts on a 2 MiB boundary: the kernel
    // can only use huge pages for 2 MiB-aligned 2 MiB ranges.
    const size_t span = length + kHugePage;
    void* raw =
        ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED) return nullptr;
    const uintptr_t base = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t aligned = (base + kHugePage - 1) & ~(uintptr_t{kHugePage} - 1);
    const size_t head = aligned - base;
    const size_t tail = span - head - length;
    if (head > 0) ::munmap(raw, head);
    if (tail > 0) ::munmap(reinterpret_cast<void*>(aligned + length), tail);
    auto region = std::unique_ptr<HugeRegion>(new HugeRegion(reinterpret_cast<void*>(aligned), length));
    // Failure (THP compiled out or disabled: EINVAL) leaves ordinary 4 KiB pages, still correct.
    (void)::madvise(region->addr_, length, MADV_HUGEPAGE);
    // Pre-faulting moves the fault cost to the allocation; EINVAL on kernels before 5.14 is harmless.
    if (populate) (void)::madvise(region->addr_, length, MADV_POPULATE_WRITE);
    return region;
  }

  ~HugeRegion() { ::munmap(addr_, length_); }
  HugeRegion(const HugeRegion&) = delete;
  HugeRegion& operator=(const HugeRegion&) = delete;

  void* addr() const { return addr_; }
  size_t length() const { return length_; }

 private:
  HugeRegion(void* addr, size_t length) : addr_(addr), length_(length) {}
  void* addr_;
  size_t length_;
};

// The rounding slack V8 does not know of: V8 already counts an ArrayBuffer's byteLength as external
// memory (ArrayBufferSweeper adjusts the isolate's external memory for every backing store), so only the
// mapped bytes beyond it are reported here, or the GC would see the columns twice.
struct Owned {
  std::unique_ptr<HugeRegion> region;
  int64_t reported;
};

void finalize(napi_env env, void* /*data*/, void* hint) {
  std::unique_ptr<Owned> owned(static_cast<Owned*>(hint));  // unmaps on return
  int64_t ignored;
  // Not Napi::MemoryManagement::AdjustExternalMemory: it aborts the process on failure, and a finalizer
  // has nothing better to do with an error than to ignore it.
  if (owned->reported != 0) (void)napi_adjust_external_memory(env, -owned->reported, &ignored);
}

Napi::Value AllocHuge(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double d;
  if (!js::numberArg(info, 0, -1, "allocHuge", "byteLength", &d)) return env.Undefined();
  if (!js::isIntegerIn(d, 0, kMaxBytes)) {
    return js::throwRangeError(env, "allocHuge: byteLength must be an integer in [0, 2^53]");
  }
  const bool populate = info.Length() > 1 && info[1].ToBoolean().Value();
  const size_t n = static_cast<size_t>(d);
  if (n == 0) return Napi::ArrayBuffer::New(env, 0);
  const size_t length = (n + kHugePage - 1) & ~(kHugePage - 1);
  std::unique_ptr<HugeRegion> region = HugeRegion::map(length, populate);
  if (region) {
    auto owned = std::make_unique<Owned>(Owned{std::move(region), static_cast<int64_t>(length - n)});
    void* addr = owned->region->addr();
    napi_value ab;
    if (napi_create_external_arraybuffer(env, addr, n, finalize, owned.get(), &ab) == napi_ok) {
      const int64_t slack = owned->reported;
      owned.release();  // the finalizer owns it now
      if (slack != 0) Napi::MemoryManagement::AdjustExternalMemory(env, slack);
      return Napi::Value(env, ab);
    }
    // Node-API refused (e.g. beyond node::Buffer's limit): `owned` unmaps; clear its exception, if any,
    // and take the ordinary path, which reports its own error.
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
      napi_value ignored;
      (void)napi_get_and_clear_last_exception(env, &ignored);
    }
  }
  // mmap failed (address space, vm.max_map_count) or Node-API refused the external buffer: an ordinary
  // V8 ArrayBuffer (zero-filled, so slower to fault in, but correct). If that fails as well, V8's
  // RangeError is the exception the caller sees.
  napi_value ab;
  void* data;
  if (napi_create_arraybuffer(env, n, &data, &ab) != napi_ok) {
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return env.Undefined();
    return js::throwRangeError(
        env, "allocHuge: cannot allocate " + std::to_string(n) + " bytes: " + std::strerror(ENOMEM));
  }
  return Napi::Value(env, ab);
}

// adviseHuge(buf: ArrayBuffer): asks for huge pages on the 2 MiB-aligned interior of an ordinary (V8
// owned) ArrayBuffer's memory; returns the bytes advised. For buffers that must stay transferable
// between threads: an external buffer from allocHuge is copied by postMessage, this one moves. Only the
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

void InitHugeAlloc(Napi::Env env, Napi::Object exports) {
  exports.Set("allocHuge", Napi::Function::New(env, AllocHuge, "allocHuge"));
  exports.Set("adviseHuge", Napi::Function::New(env, AdviseHuge, "adviseHuge"));
  exports.Set("hugePageSize", Napi::Number::New(env, static_cast<double>(kHugePage)));
}

}  // namespace promshard
