#include "backsight/core/line_reader.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace backsight {

LineReader::~LineReader() {
  if (zinit_) inflateEnd(&zs_);
  if (f_ != nullptr) std::fclose(f_);
}

Status LineReader::Open(const std::string& path) {
  name_ = path == "-" ? "<stdin>" : path;
  if (path == "-") {
    int fd = dup(STDIN_FILENO);
    f_ = fd < 0 ? nullptr : fdopen(fd, "rb");
  } else {
    f_ = std::fopen(path.c_str(), "rb");
  }
  if (f_ == nullptr) return Status::IoError(name_ + ": cannot open: " + std::strerror(errno));
  struct stat sb;
  if (fstat(fileno(f_), &sb) == 0 && S_ISDIR(sb.st_mode)) {
    return Status::IoError(name_ + ": is a directory (a log file is expected)");
  }
  // Sniff the format from the first bytes.
  if (!Refill()) return status_;
  gzip_ = raw_len_ >= 2 && static_cast<unsigned char>(raw_[0]) == kGzipMagic0 &&
          static_cast<unsigned char>(raw_[1]) == kGzipMagic1;
  if (gzip_) {
    std::memset(&zs_, 0, sizeof zs_);
    if (inflateInit2(&zs_, kGzipWindowBits) != Z_OK) {
      return Status::IoError(name_ + ": zlib initialisation failed");
    }
    zinit_ = true;
    zs_.next_in = reinterpret_cast<Bytef*>(raw_);
    zs_.avail_in = static_cast<uInt>(raw_len_);
    raw_pos_ = raw_len_;
  }
  return Status::OK();
}

bool LineReader::Next(std::string* line) {
  line->clear();
  while (true) {
    if (pos_ >= len_) {
      size_t n = Read(buf_, sizeof(buf_));
      if (!status_.ok()) return false;
      if (n == 0) {
        if (line->empty() && !partial_) return false;
        partial_ = false;
        return true;
      }
      len_ = n;
      pos_ = 0;
    }
    const char* start = buf_ + pos_;
    const void* nl = memchr(start, '\n', len_ - pos_);
    const size_t room = line->size() < kMaxLineBytes ? kMaxLineBytes - line->size() : 0;
    if (nl == nullptr) {
      line->append(start, std::min(room, len_ - pos_));  // the rest of a huge line is dropped
      partial_ = true;
      pos_ = len_;
      continue;
    }
    size_t k = static_cast<const char*>(nl) - start;
    if (k > room) ++truncated_;
    line->append(start, std::min(room, k));
    pos_ += k + 1;
    partial_ = false;
    if (!line->empty() && line->back() == '\r') line->pop_back();
    return true;
  }
}

bool LineReader::Refill() {
  raw_len_ = std::fread(raw_, 1, sizeof(raw_), f_);
  raw_pos_ = 0;
  raw_offset_ += raw_len_;
  if (raw_len_ == 0) {
    if (std::ferror(f_)) {
      status_ = Status::IoError(name_ + ": read error at byte offset " +
                                std::to_string(raw_offset_) + ": " + std::strerror(errno));
      return false;
    }
    raw_eof_ = true;
  }
  return true;
}

Status LineReader::GzipError(uint64_t offset, const std::string& why) const {
  return Status::InvalidArgument(name_ + ": byte offset " + std::to_string(offset) + ": " + why);
}

size_t LineReader::Read(char* dst, size_t cap) {
  if (!gzip_) {
    if (raw_pos_ >= raw_len_ && !raw_eof_ && !Refill()) return 0;
    size_t n = std::min(cap, raw_len_ - raw_pos_);
    std::memcpy(dst, raw_ + raw_pos_, n);
    raw_pos_ += n;
    return n;
  }
  if (!pending_.ok()) {
    status_ = pending_;
    return 0;
  }
  while (true) {
    if (zs_.avail_in == 0 && !raw_eof_) {
      if (!Refill()) return 0;
      zs_.next_in = reinterpret_cast<Bytef*>(raw_);
      zs_.avail_in = static_cast<uInt>(raw_len_);
    }
    const uint64_t consumed = raw_offset_ - zs_.avail_in;  // compressed bytes used so far
    if (!in_member_) {
      // Between members: more members, zero padding, or the end.
      while (zs_.avail_in > 0 && *zs_.next_in == 0) {
        ++zs_.next_in;
        --zs_.avail_in;
      }
      if (zs_.avail_in == 0) {
        if (raw_eof_) return 0;
        continue;
      }
      if (*zs_.next_in != kGzipMagic0) {
        status_ = GzipError(consumed, "unexpected data after the end of the gzip stream");
        return 0;
      }
      inflateReset(&zs_);
      in_member_ = true;
    }
    zs_.next_out = reinterpret_cast<Bytef*>(dst);
    zs_.avail_out = static_cast<uInt>(cap);
    const int ret = inflate(&zs_, Z_NO_FLUSH);
    const size_t produced = cap - zs_.avail_out;
    if (ret == Z_STREAM_END) {
      in_member_ = false;
    } else if (ret == Z_BUF_ERROR || (ret == Z_OK && produced == 0)) {
      if (zs_.avail_in == 0 && raw_eof_) {
        status_ = GzipError(raw_offset_, "truncated: gzip stream ended before its trailer");
        return 0;
      }
    } else if (ret != Z_OK) {
      // Bytes decoded in this call are still delivered; the error comes with the next call.
      pending_ =
          GzipError(raw_offset_ - zs_.avail_in, zs_.msg != nullptr ? zs_.msg : "corrupt gzip data");
      if (produced == 0) status_ = pending_;
      return produced;
    }
    if (produced > 0) return produced;
  }
}

}  // namespace backsight
