#include "backsight/core/line_reader.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

namespace backsight {

LineReader::~LineReader() {
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
  if (raw_len_ >= 2 && static_cast<unsigned char>(raw_[0]) == kGzipMagic0 &&
      static_cast<unsigned char>(raw_[1]) == kGzipMagic1) {
    Inflater::Options opt;
    opt.framing = Inflater::Framing::kGzip;
    opt.name = name_;
    gzip_ = std::make_unique<Inflater>(std::move(opt));
    gzip_->SetInput(std::string_view(raw_, raw_len_));
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

size_t LineReader::Read(char* dst, size_t cap) {
  if (gzip_ == nullptr) {
    if (raw_pos_ >= raw_len_ && !raw_eof_ && !Refill()) return 0;
    size_t n = std::min(cap, raw_len_ - raw_pos_);
    std::memcpy(dst, raw_ + raw_pos_, n);
    raw_pos_ += n;
    return n;
  }
  while (true) {
    if (gzip_->NeedsInput() && !raw_eof_) {
      if (!Refill()) return 0;
      gzip_->SetInput(std::string_view(raw_, raw_len_));
    }
    size_t n = 0;
    Status st = gzip_->Inflate(dst, cap, &n);
    // Bytes decoded before an error are still delivered; the error (kept by the inflater) comes
    // with the next call.
    if (n > 0) return n;
    if (!st.ok()) {
      status_ = std::move(st);
      return 0;
    }
    if (gzip_->NeedsInput() && raw_eof_) {
      status_ = gzip_->Finish();
      return 0;
    }
  }
}

}  // namespace backsight
