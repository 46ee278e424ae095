// Streaming decoder of `Content-Encoding: gzip | deflate` request bodies with an output cap.
#ifndef BACKSIGHT_SERVER_BODY_INFLATER_H_
#define BACKSIGHT_SERVER_BODY_INFLATER_H_

#include <zlib.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "backsight/core/status.h"

namespace backsight::server {

/// Inflates a gzip (RFC 1952, several members allowed) or zlib-wrapped deflate (RFC 1950, which
/// is what HTTP's `deflate` means, RFC 9110 §8.4.1.2) stream fed in arbitrary pieces, appending
/// the output to a string and stopping as soon as the output would exceed `max_output` bytes.
/// Memory: zlib's 32 KiB window plus a 16 KiB output block, besides the output itself.
class BodyInflater {
 public:
  /// `max_output`: most bytes of decoded output accepted (limits.max_decompressed_bytes).
  explicit BodyInflater(uint64_t max_output);
  ~BodyInflater();
  BodyInflater(const BodyInflater&) = delete;
  BodyInflater& operator=(const BodyInflater&) = delete;

  /// Decodes `in` and appends the output to `*out`. Errors: ResourceExhausted when the output
  /// passes `max_output` (nothing more is decoded), InvalidArgument for data that is not
  /// gzip/zlib (message names the byte offset and zlib's reason).
  Status Feed(std::string_view in, std::string* out);
  /// Call after the last piece: InvalidArgument if the stream is truncated (no end of member).
  Status Finish() const;
  /// Output bytes produced so far.
  uint64_t produced() const { return produced_; }

 private:
  z_stream zs_{};
  bool init_ok_ = false;
  bool member_done_ = false;  // at the end of a gzip member (another may follow)
  uint64_t max_output_;
  uint64_t produced_ = 0;
  uint64_t consumed_ = 0;
};

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_BODY_INFLATER_H_
