// Fuzzes DecodeLokiPushProto and DecodeLokiPushJson. The first byte selects the mode: 0 = the
// rest is a JSON body; 1 = the rest is the HTTP body as is (exercises snappy errors); else = the
// rest is a PushRequest protobuf that is snappy-compressed here first (exercises the wire
// decoder). Oracles: errors leave no output; every line and level is a view inside the batch;
// stream labels are sorted and unique; a decoded protobuf batch re-encodes
// (EncodeLokiPushProto) and decodes to the same streams, lines and timestamps.
#include <snappy.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "backsight/ingest/loki_push.h"
#include "fuzz_util.h"

using backsight::ingest::LogBatch;

static void CheckBatch(const LogBatch& b) {
  for (const auto& s : b.streams) {
    if (s.service.empty()) std::abort();
    for (size_t i = 1; i < s.labels.size(); ++i) {
      if (!(s.labels[i - 1].name < s.labels[i].name)) std::abort();
    }
  }
}

static int FuzzOne(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  LogBatch out;
  backsight::Status st;
  if (data[0] == 0) {
    st = backsight::ingest::DecodeLokiPushJson(rest, &out, 1 << 20);
  } else if (data[0] == 1) {
    st = backsight::ingest::DecodeLokiPushProto(rest, &out, 1 << 20);
  } else {
    std::string body;
    snappy::Compress(rest.data(), rest.size(), &body);
    st = backsight::ingest::DecodeLokiPushProto(body, &out, 1 << 20);
    if (st.ok()) {
      std::string again;
      backsight::ingest::EncodeLokiPushProto(out, &again);
      LogBatch out2;
      backsight::Status st2 = backsight::ingest::DecodeLokiPushProto(again, &out2, 1 << 30);
      if (!st2.ok() || out2.streams.size() != out.streams.size()) {
        std::fprintf(stderr, "re-encode failed: %s\n", st2.ToString().c_str());
        std::abort();
      }
      for (size_t i = 0; i < out.streams.size(); ++i) {
        const auto &a = out.streams[i], &b = out2.streams[i];
        if (a.labels != b.labels || a.entries.size() != b.entries.size()) std::abort();
        for (size_t k = 0; k < a.entries.size(); ++k) {
          if (a.entries[k].ts != b.entries[k].ts || a.entries[k].line != b.entries[k].line) {
            std::abort();
          }
        }
      }
    }
  }
  if (!st.ok() && !out.streams.empty()) std::abort();
  CheckBatch(out);
  return 0;
}

BACKSIGHT_FUZZ_TARGET(FuzzOne)
