// libFuzzer target: postings intersect/union/difference on lists built from arbitrary bytes, mostly
// sorted (delta-coded, duplicates included, one list long enough to be galloped into), sometimes raw.
// Checked against std::set models whenever every input is sorted; an unsorted input must either be
// reported or (only for a galloped list) ignored, never crash.
#include <algorithm>
#include <cstdint>
#include <set>
#include <vector>

#include "../postings.h"

namespace {

[[noreturn]] void fail() { __builtin_trap(); }

bool sorted(const std::vector<uint32_t>& l) { return std::is_sorted(l.begin(), l.end()); }

promshard::U32Vec toVec(const std::set<uint32_t>& s) { return promshard::U32Vec(s.begin(), s.end()); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t mode = data[0];
  const size_t k = data[1] % 6;
  size_t pos = 2;
  std::vector<std::vector<uint32_t>> lists(k);
  for (size_t i = 0; i < k && pos < size; i++) {
    size_t len = data[pos++] % 16;
    if (i == 0 && (mode & 2)) len *= 40;  // a long list to gallop into
    uint32_t cur = 0;
    for (size_t j = 0; j < len; j++) {
      const uint8_t b = pos < size ? data[pos++] : static_cast<uint8_t>(j * 7);
      if (mode & 1) {
        cur += b % 5;  // sorted, with duplicates where the delta is 0
        lists[i].push_back(cur);
      } else {
        lists[i].push_back(static_cast<uint32_t>(b) * 0x01010101u);  // raw: often unsorted
      }
    }
  }
  std::vector<promshard::U32Span> spans;
  for (const auto& l : lists) spans.push_back(promshard::U32Span{l.empty() ? nullptr : l.data(), l.size()});
  const bool allSorted = std::all_of(lists.begin(), lists.end(), sorted);

  promshard::U32Vec out;
  const char* err = promshard::intersectLists(spans, out);
  if (allSorted) {
    if (err != nullptr) fail();
    if (!lists.empty()) {
      std::set<uint32_t> model(lists[0].begin(), lists[0].end());
      for (size_t i = 1; i < lists.size(); i++) {
        std::set<uint32_t> o(lists[i].begin(), lists[i].end()), r;
        for (uint32_t x : model)
          if (o.count(x)) r.insert(x);
        model = std::move(r);
      }
      if (out != toVec(model)) fail();
    } else if (!out.empty()) {
      fail();
    }
  }

  err = promshard::unionLists(spans, out);
  if (allSorted != (err == nullptr)) fail();  // union checks every list in full
  if (allSorted) {
    std::set<uint32_t> model;
    for (const auto& l : lists) model.insert(l.begin(), l.end());
    if (out != toVec(model)) fail();
  }

  if (k >= 2) {
    err = promshard::differenceLists(spans[0], spans[1], out);
    if (!sorted(lists[0]) && err == nullptr) fail();  // a is checked in full
    if (sorted(lists[0]) && sorted(lists[1])) {
      if (err != nullptr) fail();
      std::set<uint32_t> b(lists[1].begin(), lists[1].end()), model;
      for (uint32_t x : lists[0])
        if (!b.count(x)) model.insert(x);
      if (out != toVec(model)) fail();
    }
  }
  return 0;
}
