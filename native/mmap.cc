#include "mmap.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <unordered_map>

#include "addon.h"
#include "js_util.h"

namespace promshard {
namespace {

struct MmapRegistry;

// One mapping. Freed by its buffer's finalizer; the registry only unmaps.
struct Mapping {
  void* addr;
  size_t length;
  bool mapped;
  MmapRegistry* registry;  // null once the environment's cleanup hook has run
};

// The mappings of one environment (one JS thread), keyed by address.
struct MmapRegistry {
  std::unordered_map<void*, Mapping*> live;
};

void unmap(Mapping* m) {
  if (m->mapped) {
    ::munmap(m->addr, m->length);
    m->mapped = false;
  }
}

void finalize(napi_env /*env*/, void* /*data*/, void* hint) {
  auto* m = static_cast<Mapping*>(hint);
  if (m->registry != nullptr) m->registry->live.erase(m->addr);
  unmap(m);
  delete m;
}

// Runs when the environment tears down, e.g. a worker thread exits: nothing stays mapped. The Mapping
// records stay for finalizers that may still run; they see a null registry.
void cleanupHook(MmapRegistry* reg) {
  for (auto& [addr, m] : reg->live) {
    unmap(m);
    m->registry = nullptr;
  }
  reg->live.clear();
  delete reg;
}

std::string errnoMessage(const char* what, const std::string& path, int err) {
  return std::string("mmap: ") + what + " " + path + ": " + std::strerror(err);
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Napi::Value Mmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* reg = static_cast<MmapRegistry*>(info.Data());
  if (info.Length() < 1 || !info[0].IsString()) return js::throwTypeError(env, "mmap: path must be a string");
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  if (path.find('\0') != std::string::npos) return js::throwTypeError(env, "mmap: path contains a NUL byte");
  Fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.fd < 0) return js::throwError(env, errnoMessage("cannot open", path, errno));
  struct stat st;
  if (::fstat(fd.fd, &st) != 0) return js::throwError(env, errnoMessage("cannot stat", path, errno));
  if (!S_ISREG(st.st_mode)) return js::throwError(env, "mmap: " + path + " is not a regular file");
  const size_t length = static_cast<size_t>(st.st_size);
  if (length == 0) return Napi::ArrayBuffer::New(env, 0);  // mmap(2) rejects empty mappings
  void* addr = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd.fd, 0);
  if (addr == MAP_FAILED) return js::throwError(env, errnoMessage("cannot map", path, errno));
  auto* m = new Mapping{addr, length, true, reg};
  napi_value ab;
  if (napi_create_external_arraybuffer(env, addr, length, finalize, m, &ab) != napi_ok) {
    unmap(m);
    delete m;
    return js::throwError(env, "mmap: cannot create an external ArrayBuffer for " + path);
  }
  reg->live.emplace(addr, m);
  return Napi::Value(env, ab);
}

// munmap(buf): unmaps a buffer returned by mmap() and detaches it. Idempotent: an already unmapped
// (detached) or empty buffer is left alone. Any other non-empty ArrayBuffer is an error.
Napi::Value Munmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* reg = static_cast<MmapRegistry*>(info.Data());
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) {
    return js::throwTypeError(env, "munmap: expects the ArrayBuffer returned by mmap()");
  }
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  void* data = ab.Data();
  const size_t length = ab.ByteLength();
  if (length == 0 || data == nullptr) return env.Undefined();
  auto it = reg->live.find(data);
  if (it == reg->live.end() || it->second->length != length) {
    return js::throwError(env, "munmap: this ArrayBuffer is not a live mapping from mmap() in this thread");
  }
  if (napi_detach_arraybuffer(env, ab) != napi_ok) {
    return js::throwError(env, "munmap: cannot detach the ArrayBuffer");
  }
  Mapping* m = it->second;
  reg->live.erase(it);
  m->registry = nullptr;
  unmap(m);  // the record itself is freed by the finalizer
  return env.Undefined();
}

}  // namespace

void InitMmap(Napi::Env env, Napi::Object exports) {
  auto* reg = new MmapRegistry();
  env.AddCleanupHook(cleanupHook, reg);
  exports.Set("mmap", Napi::Function::New(env, Mmap, "mmap", reg));
  exports.Set("munmap", Napi::Function::New(env, Munmap, "munmap", reg));
}

}  // namespace promshard
