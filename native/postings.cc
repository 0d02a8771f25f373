#include "postings.h"

#include <algorithm>

namespace promshard {
namespace {

// A list this many times longer than the other side is galloped into instead of merged linearly.
constexpr size_t kGallopRatio = 32;

const char* const kUnsortedMsg = "postings list is not sorted in increasing order";

// Output buffer without zero-initialisation: the operations below write every element they keep.
struct U32Buf {
  std::vector<uint32_t>& v;
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
  // Two flags over the whole list, no early exit, so the loop vectorises.
  bool decreasing = false;
  bool equal = false;
  for (size_t i = 1; i < list.size; i++) {
    decreasing |= list.data[i] < list.data[i - 1];
    equal |= list.data[i] == list.data[i - 1];
  }
  if (decreasing) return ListOrder::kUnsorted;
  return equal ? ListOrder::kDuplicates : ListOrder::kStrict;
}

const char* intersectLists(std::vector<U32Span> lists, std::vector<uint32_t>& out) {
  out.clear();
  if (lists.empty()) return nullptr;
  std::sort(lists.begin(), lists.end(), [](const U32Span& x, const U32Span& y) { return x.size < y.size; });
  if (lists[0].size == 0) return nullptr;
  const ListOrder first = listOrder(lists[0]);
  if (first == ListOrder::kUnsorted) return kUnsortedMsg;

  U32Buf buf{out};
  std::vector<uint32_t> tmp;
  // The running result starts as the smallest list; it is copied once (and de-duplicated if needed).
  uint32_t* cur = buf.reserve(lists[0].size);
  std::copy(lists[0].data, lists[0].data + lists[0].size, cur);
  size_t n = lists[0].size;
  if (first == ListOrder::kDuplicates) n = dedup(cur, n);

  for (size_t l = 1; l < lists.size() && n > 0; l++) {
    const U32Span other = lists[l];
    if (other.size / kGallopRatio > n) {
      bool unsorted = false;
      n = gallopIntersect(cur, n, other.data, other.size, cur, &unsorted);
      if (unsorted) return kUnsortedMsg;
    } else {
      const ListOrder order = listOrder(other);
      if (order == ListOrder::kUnsorted) return kUnsortedMsg;
      // Writing into cur while reading it is safe: the write index never passes the read index.
      n = mergeIntersect(cur, n, other.data, other.size, cur);
      if (order == ListOrder::kDuplicates) n = dedup(cur, n);
    }
  }
  out.resize(n);
  return nullptr;
}

const char* unionLists(const std::vector<U32Span>& lists, std::vector<uint32_t>& out) {
  out.clear();
  // Level 0: validate, and de-duplicate nothing yet (mergeUnion de-duplicates as it goes).
  std::vector<std::vector<uint32_t>> runs;
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
  // Balanced pairwise merging: each level halves the number of runs, so every element moves
  // O(log k) times with a branch-free two-way merge.
  while (spans.size() > 1) {
    std::vector<std::vector<uint32_t>> next;
    std::vector<U32Span> nextSpans;
    next.reserve((spans.size() + 1) / 2);
    for (size_t i = 0; i + 1 < spans.size(); i += 2) {
      std::vector<uint32_t> m(spans[i].size + spans[i + 1].size);
      m.resize(mergeUnion(spans[i].data, spans[i].size, spans[i + 1].data, spans[i + 1].size, m.data()));
      next.push_back(std::move(m));
    }
    if (spans.size() % 2 == 1) {
      const U32Span& s = spans.back();
      std::vector<uint32_t> m(s.data, s.data + s.size);
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

const char* differenceLists(U32Span a, U32Span b, std::vector<uint32_t>& out) {
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
