// CRC-32C (Castagnoli), as Prometheus' index, chunk and WAL formats checksum their records.
#pragma once

#include <cstddef>
#include <cstdint>

namespace promshard {

// Continues a CRC-32C over data with Go's crc32.Update semantics: pass 0 to start, or the value a
// previous call returned to extend it. Uses the SSE4.2 crc32 instruction where the CPU has it.
uint32_t crc32c(uint32_t crc, const uint8_t* data, size_t len);

// The portable table implementation, exposed so tests can compare it with the hardware path.
uint32_t crc32cPortable(uint32_t crc, const uint8_t* data, size_t len);

}  // namespace promshard
