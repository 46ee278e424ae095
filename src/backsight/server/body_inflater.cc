#include "backsight/server/body_inflater.h"

#include "backsight/server/http_server.h"

namespace backsight::server {
namespace {
// zlib's windowBits: 15 (32 KiB window, the maximum) + 32 = detect a gzip or zlib header.
constexpr int kAutoHeaderWindowBits = 15 + 32;
// Output produced per inflate() call; bounds the overshoot past the cap check.
constexpr size_t kOutBlock = 16 * 1024;
}  // namespace

BodyInflater::BodyInflater(uint64_t max_output) : max_output_(max_output) {
  init_ok_ = inflateInit2(&zs_, kAutoHeaderWindowBits) == Z_OK;
}

BodyInflater::~BodyInflater() {
  if (init_ok_) inflateEnd(&zs_);
}

Status BodyInflater::Feed(std::string_view in, std::string* out) {
  if (!init_ok_) return Status::Internal("zlib inflateInit2 failed");
  zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs_.avail_in = static_cast<uInt>(in.size());
  const uint64_t base = consumed_;
  unsigned char block[kOutBlock];
  for (;;) {
    if (member_done_) {
      if (zs_.avail_in == 0) break;
      // A gzip file may hold several members (RFC 1952 §2.2); start the next one.
      if (inflateReset(&zs_) != Z_OK) return Status::Internal("zlib inflateReset failed");
      member_done_ = false;
    }
    zs_.next_out = block;
    zs_.avail_out = kOutBlock;
    const int rc = inflate(&zs_, Z_NO_FLUSH);
    consumed_ = base + (in.size() - zs_.avail_in);
    const size_t n = kOutBlock - zs_.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      return Status::InvalidArgument(Reason::kCompression,
                                     "compressed body: byte " + std::to_string(consumed_) + ": " +
                                         (zs_.msg ? zs_.msg : "invalid data"));
    }
    if (produced_ + n > max_output_) {
      produced_ += n;
      return Status::ResourceExhausted(Reason::kTooLarge,
                                       "decompressed body exceeds limits.max_decompressed_bytes (" +
                                           std::to_string(max_output_) + " bytes)");
    }
    GrowToLimit(out, n, max_output_);
    out->append(reinterpret_cast<const char*>(block), n);
    produced_ += n;
    if (rc == Z_STREAM_END) {
      member_done_ = true;
      continue;
    }
    // Output block not filled: zlib has used all the input it can; wait for more.
    if (zs_.avail_out != 0 || rc == Z_BUF_ERROR) break;
  }
  return Status::OK();
}

Status BodyInflater::Finish() const {
  if (!member_done_) {
    return Status::InvalidArgument(
        Reason::kCompression,
        "compressed body is truncated (" + std::to_string(consumed_) + " bytes, no end of stream)");
  }
  return Status::OK();
}

}  // namespace backsight::server
