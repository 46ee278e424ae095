#include "backsight/core/inflater.h"

#include <utility>

#include "backsight/core/grow_to_limit.h"

namespace backsight {
namespace {
// zlib's windowBits (zlib.h, inflateInit2): 15 = the largest (32 KiB) window; + 16 = gzip
// header only; + 32 = detect a gzip or zlib header.
constexpr int kGzipWindowBits = 15 + 16;
constexpr int kAutoHeaderWindowBits = 15 + 32;
// First byte of a gzip member (RFC 1952 §2.3.1, ID1).
constexpr unsigned char kGzipMagic0 = 0x1f;
// Output produced per inflate() call in Feed; bounds the overshoot past the cap check.
constexpr size_t kOutBlock = 16 * 1024;
}  // namespace

Inflater::Inflater(Options opt) : opt_(std::move(opt)) {
  const int bits = opt_.framing == Framing::kGzip ? kGzipWindowBits : kAutoHeaderWindowBits;
  init_ok_ = inflateInit2(&zs_, bits) == Z_OK;
  if (!init_ok_) error_ = Status::Internal(opt_.name + ": zlib inflateInit2 failed");
}

Inflater::~Inflater() {
  if (init_ok_) inflateEnd(&zs_);
}

void Inflater::SetInput(std::string_view in) {
  zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs_.avail_in = static_cast<uInt>(in.size());
  fed_ += in.size();
}

Status Inflater::DataError(uint64_t offset, const std::string& why) const {
  return Status::InvalidArgument(
      Reason::kCompression, opt_.name + ": byte offset " + std::to_string(offset) + ": " + why);
}

Status Inflater::Inflate(char* dst, size_t cap, size_t* written) {
  *written = 0;
  if (!error_.ok()) return error_;
  for (;;) {
    if (!in_member_) {
      if (members_done_ > 0 && opt_.framing == Framing::kGzip) {
        // Between gzip members: zero padding, another member, or the end.
        while (zs_.avail_in > 0 && *zs_.next_in == 0) {
          ++zs_.next_in;
          --zs_.avail_in;
        }
        if (zs_.avail_in > 0 && *zs_.next_in != kGzipMagic0) {
          return error_ = DataError(consumed(), "unexpected data after the end of the gzip stream");
        }
      }
      if (zs_.avail_in == 0) return Status::OK();
      // A gzip file may hold several members (RFC 1952 §2.2); start the next one.
      if (members_done_ > 0 && inflateReset(&zs_) != Z_OK) {
        return error_ = Status::Internal(opt_.name + ": zlib inflateReset failed");
      }
      in_member_ = true;
    }
    zs_.next_out = reinterpret_cast<Bytef*>(dst);
    zs_.avail_out = static_cast<uInt>(cap);
    const int rc = inflate(&zs_, Z_NO_FLUSH);
    const size_t n = cap - zs_.avail_out;
    if (produced_ + n > opt_.max_output) {
      produced_ += n;
      return error_ = Status::ResourceExhausted(
                 Reason::kTooLarge, opt_.name + ": decompressed size exceeds " + opt_.limit_name +
                                        " (" + std::to_string(opt_.max_output) + " bytes)");
    }
    produced_ += n;
    *written = n;
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      // The bytes decoded before the bad data are delivered with the error.
      return error_ = DataError(consumed(), zs_.msg != nullptr ? zs_.msg : "invalid data");
    }
    if (rc == Z_STREAM_END) {
      in_member_ = false;
      ++members_done_;
    } else if (rc == Z_BUF_ERROR) {
      return Status::OK();  // no progress possible: the input is used up (or cap is 0)
    }
    if (n > 0) return Status::OK();
  }
}

Status Inflater::Feed(std::string_view in, std::string* out) {
  SetInput(in);
  char block[kOutBlock];
  for (;;) {
    size_t n = 0;
    BACKSIGHT_RETURN_IF_ERROR(Inflate(block, sizeof block, &n));
    if (n == 0) return Status::OK();
    GrowToLimit(out, n, opt_.max_output);
    out->append(block, n);
  }
}

Status Inflater::Finish() const {
  if (!error_.ok()) return error_;
  if (in_member_ || members_done_ == 0) {
    const char* kind = opt_.framing == Framing::kGzip ? "gzip" : "compressed";
    return DataError(consumed(),
                     std::string("truncated: ") + kind + " stream ended before its trailer");
  }
  return Status::OK();
}

}  // namespace backsight
