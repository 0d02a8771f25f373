#include "postings.h"

#include <algorithm>
#include <bit>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define PROMSHARD_X86 1
#endif

namespace promshard {
namespace {

// A list this many times longer than the other side is galloped into instead of merged linearly.
constexpr size_t kGallopRatio = 32;
// A union whose value range is at most this many times its input size goes through a bitmap (at most
// 64 / kBitmapDensity = 2 bitmap words to scan per input element).
constexpr uint32_t kBitmapDensity = 32;

const char* const kUnsortedMsg = "postings list is not sorted in increasing order";

// Output buffer without zero-initialisation: the operations below write every element they keep.
struct U32Buf {
  U32Vec& v;
  uint32_t* reserve(size_t n) {
    v.resize(n);
    return v.data();
  }
};

// Removes adjacent duplicates in place; returns the new length.
size_t dedup(uint32_t* p, size_t n) {
  if (n == 0) return 0;
  size_t k = 1;
  for (size_t i = 1; i < n; i++) {
    p[k] = p[i];
    k += p[i] != p[k - 1];
  }
  return k;
}

// Linear intersection of two sorted lists, branch-free; out has room for min(na, nb). Duplicates in the
// inputs may produce duplicates in out (removed by the caller).
size_t mergeIntersect(const uint32_t* a, size_t na, const uint32_t* b, size_t nb, uint32_t* out) {
  size_t i = 0, j = 0, k = 0;
  while (i < na && j < nb) {
    const uint32_t x = a[i];
    const uint32_t y = b[j];
    out[k] = x;
    k += x == y;
    i += x <= y;
    j += y <= x;
  }
  return k;
}

#ifdef PROMSHARD_X86
// Compaction masks for the SIMD intersection: for each 4-bit match mask, a pshufb control that moves
// the matching 32-bit lanes to the front, in order.
struct ShuffleTable {
  alignas(16) uint8_t c[16][16];
};
constexpr ShuffleTable makeShuffles() {
  ShuffleTable t{};
  for (int m = 0; m < 16; m++) {
    int k = 0;
    for (int lane = 0; lane < 4; lane++) {
      if (m & (1 << lane)) {
        for (int b = 0; b < 4; b++) t.c[m][k * 4 + b] = static_cast<uint8_t>(lane * 4 + b);
        k++;
      }
    }
    for (int r = k * 4; r < 16; r++) t.c[m][r] = 0x80;
  }
  return t;
}
constexpr ShuffleTable kShuffles = makeShuffles();

// Block-wise intersection (Schlegel et al.): compare 4 elements of a with 4 of b in all rotations,
// keep a's matching lanes, advance the block with the smaller maximum. No data-dependent branches and
// about 5 instructions per element. out must not alias the inputs; it has room for `cap` elements, at
// least the number of matches.
__attribute__((target("ssse3,popcnt"))) size_t simdIntersect(const uint32_t* a, size_t na, const uint32_t* b,
                                                             size_t nb, uint32_t* out, size_t cap) {
  size_t i = 0, j = 0, k = 0;
  while (i + 4 <= na && j + 4 <= nb) {
    const __m128i va = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i));
    const __m128i vb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + j));
    __m128i m = _mm_cmpeq_epi32(va, vb);
    m = _mm_or_si128(m, _mm_cmpeq_epi32(va, _mm_shuffle_epi32(vb, 0x39)));
    m = _mm_or_si128(m, _mm_cmpeq_epi32(va, _mm_shuffle_epi32(vb, 0x4e)));
    m = _mm_or_si128(m, _mm_cmpeq_epi32(va, _mm_shuffle_epi32(vb, 0x93)));
    const int mask = _mm_movemask_ps(_mm_castsi128_ps(m));
    const __m128i packed =
        _mm_shuffle_epi8(va, _mm_load_si128(reinterpret_cast<const __m128i*>(kShuffles.c[mask])));
    const size_t c = static_cast<size_t>(_mm_popcnt_u32(static_cast<unsigned>(mask)));
    if (k + 4 <= cap) [[likely]] {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + k), packed);
    } else {
      alignas(16) uint32_t tmp[4];
      _mm_store_si128(reinterpret_cast<__m128i*>(tmp), packed);
      std::memcpy(out + k, tmp, c * 4);
    }
    k += c;
    const uint32_t amax = a[i + 3];
    const uint32_t bmax = b[j + 3];
    i += amax <= bmax ? 4 : 0;
    j += bmax <= amax ? 4 : 0;
  }
  // Scalar tail.
  while (i < na && j < nb) {
    const uint32_t x = a[i];
    const uint32_t y = b[j];
    if (x == y) out[k++] = x;
    i += x <= y;
    j += y <= x;
  }
  return k;
}

bool haveSimdIntersect() {
  static const bool have = __builtin_cpu_supports("ssse3") && __builtin_cpu_supports("popcnt");
  return have;
}
#endif

// The fastest available linear intersection; out has room for min(na, nb) and does not alias a or b.
// The SIMD kernel needs strictly increasing inputs: with duplicates it can emit an element of a once per
// block of b it meets, more than min(na, nb) in all. The scalar merge emits at most one per step of both.
size_t linearIntersect(const uint32_t* a, size_t na, const uint32_t* b, size_t nb, uint32_t* out,
                       bool strict) {
#ifdef PROMSHARD_X86
  if (strict && haveSimdIntersect()) return simdIntersect(a, na, b, nb, out, na < nb ? na : nb);
#else
  (void)strict;
#endif
  return mergeIntersect(a, na, b, nb, out);
}

// First index in [lo, n) with list[index] >= x, searching exponentially from lo. *unsorted is set when
// the probed elements contradict the list's order.
inline size_t gallop(const uint32_t* list, size_t n, size_t lo, uint32_t x, bool* unsorted) {
  if (lo >= n || list[lo] >= x) return lo;
  // list[lo] < x: find hi with list[hi] >= x by doubling steps.
  size_t step = 1;
  size_t prev = lo;
  size_t hi = lo + 1;
  while (hi < n && list[hi] < x) {
    if (list[hi] < list[prev]) *unsorted = true;
    prev = hi;
    step <<= 1;
    hi = lo + step;
  }
  if (hi >= n) hi = n;
  // Binary search in (prev, hi].
  size_t l = prev + 1, r = hi;
  while (l < r) {
    const size_t m = l + (r - l) / 2;
    if (list[m] < x) {
      l = m + 1;
    } else {
      r = m;
    }
  }
  if (l < n && l > 0 && list[l] < list[l - 1]) *unsorted = true;
  return l;
}

// Intersection of a short strictly-or-not increasing list with a much longer one, by galloping.
size_t gallopIntersect(const uint32_t* small, size_t ns, const uint32_t* large, size_t nl, uint32_t* out,
                       bool* unsorted) {
  size_t k = 0, j = 0;
  for (size_t i = 0; i < ns && j < nl; i++) {
    const uint32_t x = small[i];
    j = gallop(large, nl, j, x, unsorted);
    if (j < nl && large[j] == x) out[k++] = x;
  }
  return k;
}

// Union of two sorted lists, de-duplicated; out has room for na + nb.
size_t mergeUnion(const uint32_t* a, size_t na, const uint32_t* b, size_t nb, uint32_t* out) {
  size_t i = 0, j = 0, k = 0;
  uint64_t last = ~uint64_t{0};  // no uint32 equals it
  while (i < na && j < nb) {
    const uint32_t x = a[i];
    const uint32_t y = b[j];
    const uint32_t m = x < y ? x : y;
    out[k] = m;
    k += m != last;
    last = m;
    i += x <= y;
    j += y <= x;
  }
  for (; i < na; i++) {
    out[k] = a[i];
    k += a[i] != last;
    last = a[i];
  }
  for (; j < nb; j++) {
    out[k] = b[j];
    k += b[j] != last;
    last = b[j];
  }
  return k;
}

}  // namespace

ListOrder listOrder(U32Span list) {
  // Two flags over the whole list, no early exit and integer accumulators, so the loop vectorises.
  const uint32_t* p = list.data;
  uint32_t decreasing = 0;
  uint32_t equal = 0;
  for (size_t i = 1; i < list.size; i++) {
    decreasing |= static_cast<uint32_t>(p[i] < p[i - 1]);
    equal |= static_cast<uint32_t>(p[i] == p[i - 1]);
  }
  if (decreasing) return ListOrder::kUnsorted;
  return equal ? ListOrder::kDuplicates : ListOrder::kStrict;
}

const char* intersectLists(std::vector<U32Span> lists, U32Vec& out) {
  out.clear();
  if (lists.empty()) return nullptr;
  std::sort(lists.begin(), lists.end(), [](const U32Span& x, const U32Span& y) { return x.size < y.size; });
  if (lists[0].size == 0) return nullptr;
  const ListOrder first = listOrder(lists[0]);
  if (first == ListOrder::kUnsorted) return kUnsortedMsg;

  // The running result ping-pongs between two buffers (the SIMD kernel must not write its input); it
  // starts as the smallest list, read in place.
  U32Vec other;
  out.resize(lists[0].size);
  if (lists.size() > 2) other.resize(lists[0].size);
  const uint32_t* cur = lists[0].data;
  size_t n = lists[0].size;
  bool dups = first == ListOrder::kDuplicates;
  uint32_t* dst = out.data();
  uint32_t* spare = other.data();
  for (size_t l = 1; l < lists.size() && n > 0; l++) {
    const U32Span next = lists[l];
    if (next.size / kGallopRatio > n) {
      bool unsorted = false;
      n = gallopIntersect(cur, n, next.data, next.size, dst, &unsorted);
      if (unsorted) return kUnsortedMsg;
    } else {
      const ListOrder order = listOrder(next);
      if (order == ListOrder::kUnsorted) return kUnsortedMsg;
      const bool strict = !dups && order == ListOrder::kStrict;
      dups = !strict;
      n = linearIntersect(cur, n, next.data, next.size, dst, strict);
    }
    cur = dst;
    std::swap(dst, spare);
  }
  if (cur != out.data()) std::copy(cur, cur + n, out.data());  // a single list, or the result in `other`
  if (dups) n = dedup(out.data(), n);
  out.resize(n);
  return nullptr;
}

const char* unionLists(const std::vector<U32Span>& lists, U32Vec& out) {
  out.clear();
  // Level 0: validate, and de-duplicate nothing yet (mergeUnion de-duplicates as it goes).
  std::vector<U32Vec> runs;
  std::vector<U32Span> spans;
  for (const U32Span& s : lists) {
    if (listOrder(s) == ListOrder::kUnsorted) return kUnsortedMsg;
    if (s.size > 0) spans.push_back(s);
  }
  if (spans.empty()) return nullptr;
  if (spans.size() == 1) {
    out.assign(spans[0].data, spans[0].data + spans[0].size);
    out.resize(dedup(out.data(), out.size()));
    return nullptr;
  }
  // Dense inputs (series refs of one shard usually are): set bits in a bitmap of the value range and
  // read them back in order. Independent stores instead of a merge's load-compare-advance chain.
  size_t total = 0;
  uint32_t maxValue = 0;
  for (const U32Span& s : spans) {
    total += s.size;
    maxValue = std::max(maxValue, s.data[s.size - 1]);
  }
  if (maxValue / kBitmapDensity <= total) {
    const size_t words = (static_cast<size_t>(maxValue) >> 6) + 1;
    std::unique_ptr<uint64_t[]> bits(new uint64_t[words]());
    for (const U32Span& s : spans) {
      for (size_t i = 0; i < s.size; i++) bits[s.data[i] >> 6] |= uint64_t{1} << (s.data[i] & 63);
    }
    out.resize(total);
    size_t k = 0;
    for (size_t w = 0; w < words; w++) {
      uint64_t word = bits[w];
      while (word != 0) {
        out[k++] = static_cast<uint32_t>((w << 6) | static_cast<size_t>(std::countr_zero(word)));
        word &= word - 1;
      }
    }
    out.resize(k);
    return nullptr;
  }
  // Balanced pairwise merging: each level halves the number of runs, so every element moves
  // O(log k) times with a branch-free two-way merge.
  while (spans.size() > 1) {
    std::vector<U32Vec> next;
    std::vector<U32Span> nextSpans;
    next.reserve((spans.size() + 1) / 2);
    for (size_t i = 0; i + 1 < spans.size(); i += 2) {
      U32Vec m(spans[i].size + spans[i + 1].size);
      m.resize(mergeUnion(spans[i].data, spans[i].size, spans[i + 1].data, spans[i + 1].size, m.data()));
      next.push_back(std::move(m));
    }
    if (spans.size() % 2 == 1) {
      const U32Span& s = spans.back();
      U32Vec m(s.data, s.data + s.size);
      m.resize(dedup(m.data(), m.size()));
      next.push_back(std::move(m));
    }
    runs = std::move(next);
    for (const auto& r : runs) nextSpans.push_back(U32Span{r.data(), r.size()});
    spans = std::move(nextSpans);
  }
  out = std::move(runs[0]);
  return nullptr;
}

const char* differenceLists(U32Span a, U32Span b, U32Vec& out) {
  out.clear();
  const ListOrder ao = listOrder(a);
  if (ao == ListOrder::kUnsorted) return kUnsortedMsg;
  if (a.size == 0) return nullptr;
  U32Buf buf{out};
  uint32_t* o = buf.reserve(a.size);
  size_t k = 0;
  uint64_t last = ~uint64_t{0};
  if (b.size / kGallopRatio > a.size) {
    bool unsorted = false;
    size_t j = 0;
    for (size_t i = 0; i < a.size; i++) {
      const uint32_t x = a.data[i];
      j = gallop(b.data, b.size, j, x, &unsorted);
      const bool keep = (j >= b.size || b.data[j] != x) && x != last;
      o[k] = x;
      k += keep;
      last = x;
    }
    if (unsorted) return kUnsortedMsg;
  } else {
    if (listOrder(b) == ListOrder::kUnsorted) return kUnsortedMsg;
    size_t i = 0, j = 0;
    while (i < a.size && j < b.size) {
      const uint32_t x = a.data[i];
      const uint32_t y = b.data[j];
      o[k] = x;
      k += (x < y) & (x != last);
      last = x < y ? x : last;
      i += x <= y;  // an equal element is dropped, and so are its duplicates in a
      j += y < x;
    }
    for (; i < a.size; i++) {
      o[k] = a.data[i];
      k += a.data[i] != last;
      last = a.data[i];
    }
  }
  out.resize(k);
  return nullptr;
}

}  // namespace promshard
