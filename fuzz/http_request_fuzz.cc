// Fuzzes the two request parsers of our own in the HTTP server: ParseTarget (path and query
// percent-decoding) and the Inflater
// (core/inflater.h: gzip/deflate bodies fed in pieces with an output cap).
// The first byte selects the mode and, for the inflater, the piece size. Oracles: decoding never
// grows a string (every escape shrinks or keeps it); the inflater never outputs more than its
// cap, and feeding the same bytes in one piece or in many gives the same output, or fails both
// times.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>

#include "backsight/core/inflater.h"
#include "backsight/server/http_server.h"
#include "fuzz_util.h"

namespace {

// Cap on the inflater's output: small, so the fuzzer reaches it.
constexpr uint64_t kFuzzOutputCap = 1 << 16;

backsight::Status Inflate(std::string_view in, size_t piece, std::string* out) {
  backsight::Inflater::Options opt;
  opt.max_output = kFuzzOutputCap;
  backsight::Inflater inf(std::move(opt));
  for (size_t off = 0; off < in.size(); off += piece) {
    backsight::Status st = inf.Feed(in.substr(off, piece), out);
    if (!st.ok()) return st;
  }
  return inf.Finish();
}

}  // namespace

namespace {

int FuzzOne(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    backsight::server::HttpRequest req;
    backsight::server::ParseTarget(rest, &req);
    if (req.path.size() > rest.size()) std::abort();
    size_t params = 0;
    for (const auto& [k, v] : req.params) params += k.size() + v.size();
    if (params > rest.size()) std::abort();
    return 0;
  }
  std::string whole, pieces;
  const backsight::Status a = Inflate(rest, rest.size() + 1, &whole);
  const backsight::Status b = Inflate(rest, 1 + (data[0] >> 1) % 64, &pieces);
  if (whole.size() > kFuzzOutputCap || pieces.size() > kFuzzOutputCap) std::abort();
  if (a.ok() != b.ok()) std::abort();
  if (a.ok() && whole != pieces) std::abort();
  return 0;
}

}  // namespace

BACKSIGHT_FUZZ_TARGET(FuzzOne)
