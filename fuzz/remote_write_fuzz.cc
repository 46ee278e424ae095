// Fuzzes DecodeRemoteWrite. The first byte selects the mode: odd = the rest is the HTTP body as
// is (exercises snappy errors); even = the rest is a WriteRequest protobuf that is compressed here
// first (exercises the wire decoder). Oracles: (1) the generated protobuf parser accepts whatever
// we accept, and anything we call malformed protobuf it rejects too (except groups, which we
// refuse on purpose); (2) decode → EncodeRemoteWrite → decode reproduces the series.
#include <snappy.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "backsight/ingest/proto/remote.pb.h"
#include "backsight/ingest/remote_write.h"
#include "fuzz_util.h"

using backsight::TimeSeries;

static bool SameSamples(const TimeSeries& a, const TimeSeries& b) {
  if (a.samples.size() != b.samples.size()) return false;
  for (size_t i = 0; i < a.samples.size(); ++i) {
    if (a.samples[i].ts != b.samples[i].ts) return false;
    if (std::memcmp(&a.samples[i].value, &b.samples[i].value, sizeof(double)) != 0) return false;
  }
  return true;
}

static int FuzzOne(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<TimeSeries> out;
  if (data[0] & 1) {
    (void)backsight::ingest::DecodeRemoteWrite(rest, &out, 1 << 20);
    return 0;
  }
  std::string body;
  snappy::Compress(rest.data(), rest.size(), &body);
  backsight::Status st = backsight::ingest::DecodeRemoteWrite(body, &out, 1 << 20);
  prometheus::WriteRequest ref;
  bool ref_ok = ref.ParseFromArray(rest.data(), static_cast<int>(rest.size()));
  if (st.ok() && !ref_ok) {
    std::fprintf(stderr, "we accepted what protobuf rejects\n");
    std::abort();
  }
  if (!st.ok() && ref_ok && st.message().rfind("remote_write: malformed protobuf", 0) == 0 &&
      st.message().find("wire type") == std::string::npos) {
    std::fprintf(stderr, "protobuf accepted what we call malformed: %s\n", st.ToString().c_str());
    std::abort();
  }
  if (!st.ok()) {
    if (!out.empty()) std::abort();  // errors leave no output
    return 0;
  }
  std::string again;
  backsight::ingest::EncodeRemoteWrite(out, &again);
  std::vector<TimeSeries> out2;
  st = backsight::ingest::DecodeRemoteWrite(again, &out2, 1 << 30);
  if (!st.ok() || out2.size() != out.size()) {
    std::fprintf(stderr, "re-encode failed: %s\n", st.ToString().c_str());
    std::abort();
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].labels != out2[i].labels || !SameSamples(out[i], out2[i])) std::abort();
  }
  return 0;
}

BACKSIGHT_FUZZ_TARGET(FuzzOne)
