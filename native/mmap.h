// Read-only file mappings handed to JavaScript as external ArrayBuffers.
//
// mmap(path) maps the whole file MAP_PRIVATE with PROT_READ | PROT_WRITE (copy-on-write: a stray write
// from JS changes only this process' private copy and never the file, and cannot fault). The mapping is
// released by the first of: munmap(buf) (which also detaches the buffer so JS cannot touch freed pages),
// the buffer's finalizer after garbage collection, or the environment's cleanup hook when the thread
// (main or worker) exits. Each environment tracks its own mappings; nothing is shared between threads.
#pragma once

#include <napi.h>

namespace promshard {

// Defined in mmap.cc; declared in addon.h as InitMmap.

}  // namespace promshard
