// Set operations on postings lists: sorted lists of uint32 series refs, as a TSDB index resolves
// label matchers to. Inputs are untrusted: the operations check their order (see each function) and
// report an unsorted list instead of producing a wrong answer silently. Inputs may hold duplicates
// (non-decreasing); outputs are always strictly increasing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

namespace promshard {

// std::allocator whose value-initialising construct() default-initialises instead, so resize() does not
// zero memory the operations overwrite anyway (several MB per call for large lists).
template <class T>
struct DefaultInitAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  DefaultInitAllocator() = default;
  template <class U>
  DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

using U32Vec = std::vector<uint32_t, DefaultInitAllocator<uint32_t>>;

struct U32Span {
  const uint32_t* data;
  size_t size;
};

enum class ListOrder : uint8_t { kStrict, kDuplicates, kUnsorted };

// Classifies a list in one pass: strictly increasing, non-decreasing with duplicates, or unsorted.
ListOrder listOrder(U32Span list);

// Intersection of k lists into out. Lists are processed smallest first; a list much longer than the
// running result is searched by galloping (exponential then binary search), which looks at O(r log n)
// of its elements: such a list is checked for order only at the elements it probes, so an unsorted
// long list is reported when a probe sees it out of order and may otherwise go unnoticed. Every other
// list is checked in full. Returns nullptr or an error message. Zero lists give an empty result.
const char* intersectLists(std::vector<U32Span> lists, U32Vec& out);

// k-way union (balanced pairwise merges). Every list is checked in full.
const char* unionLists(const std::vector<U32Span>& lists, U32Vec& out);

// a minus b. a is checked in full; b like a galloped list of intersectLists when much longer than a.
const char* differenceLists(U32Span a, U32Span b, U32Vec& out);

}  // namespace promshard
