// LineReader: lines of a plain or gzip file, or of stdin, for the command-line front ends and
// tools.
#ifndef BACKSIGHT_CORE_LINE_READER_H_
#define BACKSIGHT_CORE_LINE_READER_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "backsight/core/inflater.h"
#include "backsight/core/status.h"

namespace backsight {

/// Reads lines from a plain or gzip file, or stdin for "-". Gzip (RFC 1952, recognised by its
/// magic bytes 1f 8b; concatenated members are read in turn, trailing zero padding is ignored) is
/// inflated by the one gzip decoder, `Inflater` (core/inflater.h); a corrupt or truncated stream
/// is an error naming the compressed byte offset where zlib stopped, e.g. "app.log.gz: byte
/// offset 4096: invalid block type" or "...: truncated: gzip stream ended before its trailer".
/// After an error the partial line that was being read is dropped (it would be cut at an
/// arbitrary byte).
class LineReader {
 public:
  LineReader() = default;
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;
  ~LineReader();
  /// Opens `path` ("-" = stdin) and sniffs gzip; IoError when it cannot be opened or is a
  /// directory.
  Status Open(const std::string& path);
  // Next line without its '\n' (and '\r'); false at end of input or on error (see status()).
  bool Next(std::string* line);
  /// OK, IoError (read failure) or InvalidArgument (corrupt or truncated gzip).
  const Status& status() const { return status_; }
  /// Lines longer than kMaxLineBytes (their tail was dropped).
  uint64_t truncated() const { return truncated_; }
  static constexpr size_t kMaxLineBytes = 1 << 20;

 private:
  // Gzip member header magic (RFC 1952 section 2.3.1).
  static constexpr unsigned char kGzipMagic0 = 0x1f, kGzipMagic1 = 0x8b;

  // Reads the next raw chunk into raw_; false (status_ set) on a read error. At end of file
  // sets raw_eof_ and raw_len_ = 0.
  bool Refill();
  // Up to `cap` decoded bytes into dst; 0 at end of input or on error (status_ set).
  size_t Read(char* dst, size_t cap);

  std::FILE* f_ = nullptr;
  std::string name_;
  std::unique_ptr<Inflater> gzip_;  // set for a gzip file
  char raw_[1 << 17];               // compressed (or plain) bytes as read
  size_t raw_len_ = 0, raw_pos_ = 0;
  uint64_t raw_offset_ = 0;  // bytes read from the file so far
  bool raw_eof_ = false;
  char buf_[1 << 16];  // decoded bytes
  size_t pos_ = 0, len_ = 0;
  bool partial_ = false;
  uint64_t truncated_ = 0;
  Status status_;
};

}  // namespace backsight

#endif  // BACKSIGHT_CORE_LINE_READER_H_
