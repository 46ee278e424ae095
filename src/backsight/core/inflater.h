// Inflater: the one streaming gzip / zlib decoder (HTTP bodies, gzip files), with an output cap.
#ifndef BACKSIGHT_CORE_INFLATER_H_
#define BACKSIGHT_CORE_INFLATER_H_

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "backsight/core/status.h"

namespace backsight {

/// Inflates a gzip (RFC 1952; several members in turn, RFC 1952 §2.2) or zlib-wrapped deflate
/// (RFC 1950, which is what HTTP's `deflate` means, RFC 9110 §8.4.1.2) stream given in arbitrary
/// pieces, with zlib's inflate(). Decoding stops as soon as the output would pass
/// `max_output` bytes (a "zip bomb" costs at most the cap). Memory: zlib's 32 KiB window plus the
/// caller's output buffer (Feed: a 16 KiB block). Every error names the compressed byte offset
/// where decoding stopped, e.g. "app.log.gz: byte offset 4096: invalid block type".
class Inflater {
 public:
  /// What the stream may hold.
  enum class Framing {
    /// gzip members only (a file recognised by its magic bytes): zero bytes after a member are
    /// padding and skipped (as gzip(1) does); other data after a member that is not a gzip magic
    /// byte is an error.
    kGzip,
    /// gzip or zlib, told apart by the header (zlib's windowBits + 32); after a member ends, more
    /// input starts another one.
    kGzipOrZlib,
  };
  /// No cap on the output.
  static constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();

  struct Options {
    Framing framing = Framing::kGzipOrZlib;
    /// Most bytes of decoded output accepted; past it ResourceExhausted (kTooLarge).
    uint64_t max_output = kNoLimit;
    /// Starts every error message: a file name, or e.g. "compressed body".
    std::string name = "compressed data";
    /// Names the cap in the ResourceExhausted message, e.g. "limits.max_decompressed_bytes".
    std::string limit_name = "the decompressed size limit";
  };

  explicit Inflater(Options opt);
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  /// Gives the next piece of compressed input. The previous piece must be used up (NeedsInput())
  /// and `in` must stay valid until this one is.
  void SetInput(std::string_view in);
  /// True when the current input piece is used up.
  bool NeedsInput() const { return zs_.avail_in == 0; }

  /// Decodes up to `cap` bytes into `dst`; `*written` = bytes written. OK with `*written` == 0:
  /// the input is used up (give more, or call Finish). Errors: InvalidArgument (kCompression) for
  /// data that does not inflate, ResourceExhausted (kTooLarge) past `max_output`, Internal when
  /// zlib could not initialise. On InvalidArgument `*written` may be > 0: the bytes decoded before
  /// the bad data are valid and delivered; nothing more is decoded afterwards.
  Status Inflate(char* dst, size_t cap, size_t* written);
  /// Decodes all of `in` and appends the output to `*out` (room grown by GrowToLimit to
  /// `max_output`). Errors as Inflate; after an error `*out` holds what was decoded before the
  /// block that failed.
  Status Feed(std::string_view in, std::string* out);
  /// Call after the last piece: InvalidArgument (kCompression) if the stream is truncated (no
  /// input at all, or the last member has no end), or the error decoding stopped at.
  Status Finish() const;

  /// Decoded bytes produced so far.
  uint64_t produced() const { return produced_; }
  /// Compressed bytes consumed so far.
  uint64_t consumed() const { return fed_ - zs_.avail_in; }

 private:
  Status DataError(uint64_t offset, const std::string& why) const;

  Options opt_;
  z_stream zs_{};
  bool init_ok_ = false;
  bool in_member_ = false;     // inside a member (its end not yet decoded)
  uint64_t members_done_ = 0;  // members decoded to their end
  uint64_t fed_ = 0;           // compressed bytes given by SetInput
  uint64_t produced_ = 0;
  Status error_;  // sticky: once decoding failed it stays failed
};

}  // namespace backsight

#endif  // BACKSIGHT_CORE_INFLATER_H_
