// FileTailer: follows one local log file by name, like `tail -F`, for `backsight serve`'s
// `log_files`. Kept in logs/ (not server/): it needs only a path and a line sink, is tested
// without a server, and hands lines to the same LogPipeline as `backsight logs`.
//
// Per Poll():
//   - A missing file is not an error: it is retried at the next poll (counted once per absence).
//   - New bytes from the saved offset are split into lines ('\n', a trailing '\r' dropped, as
//     core/line_reader.h does). A partial last line waits for its newline; a line longer than
//     LineReader::kMaxLineBytes is cut there (counted) and the rest of it skipped.
//   - At most `max_read_bytes` are read per poll (`*more` says there is more to read now).
//   - Truncation (copytruncate): the file is shorter than the offset -> restart at 0.
//   - Rotation (rename + new file): at end of the open file, when the path names another file
//     (device or inode changed), the old file is read to its end (a partial last line is then a
//     line), closed, and the new one is read from 0. A file renamed away is followed until a new
//     one appears; a deleted one (no name left) is finished and closed, so its space is freed.
// Position (TailPosition): device, inode, the offset just past the last line handed out, and a
// fingerprint of the file's first bytes (CRC-32 of up to 1024 bytes, Filebeat's fingerprint
// length), saved by the caller. Restore() before the first Poll resumes at the saved offset when
// the file at the path has the same fingerprint and is at least that long; else, when a file of
// the same directory has the saved device and inode and the same fingerprint (the file was
// rotated while the process was down), that file is finished from the offset first; then the
// path is read from 0.
//
// Not thread-safe; one tailer per path, polled from one thread.
#ifndef BACKSIGHT_LOGS_FILE_TAILER_H_
#define BACKSIGHT_LOGS_FILE_TAILER_H_

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backsight/core/byte_io.h"
#include "backsight/core/status.h"

namespace backsight::logs {

/// Where a tailer is in its file (saved with the logs checkpoint, docs/formats.md).
struct TailPosition {
  uint64_t dev = 0, inode = 0;
  uint64_t offset = 0;           ///< Bytes before the next line to hand out.
  uint32_t fingerprint_len = 0;  ///< Bytes the fingerprint covers (min(offset, 1024)).
  uint32_t fingerprint = 0;      ///< zlib crc32 of those first bytes.
  bool operator==(const TailPosition&) const = default;
};

/// Appends `p` to `*w` (32 bytes, little-endian).
void EncodeTailPosition(const TailPosition& p, ByteWriter* w);
/// Reads one EncodeTailPosition; Corruption naming the field when short or inconsistent
/// (fingerprint longer than the offset or than 1024 bytes).
Status DecodeTailPosition(ByteReader* r, TailPosition* p);

/// A path and its position, as saved in logs.state.
struct NamedTailPosition {
  std::string path;
  TailPosition position;
  bool operator==(const NamedTailPosition&) const = default;
};
/// Appends a u64 count, then per entry its path (ByteWriter::PutString) and position.
void EncodeTailPositions(std::span<const NamedTailPosition> positions, ByteWriter* w);
/// Reads one EncodeTailPositions into `*out`; Corruption naming the field or the count when the
/// bytes are short, inconsistent or claim more entries than they can hold.
Status DecodeTailPositions(ByteReader* r, std::vector<NamedTailPosition>* out);

struct FileTailerOptions {
  /// Bytes read per Poll at most (1 MiB: a poll stays short, a backlog drains over polls).
  size_t max_read_bytes = 1 << 20;
};

struct FileTailerStats {
  uint64_t lines = 0;        ///< Lines handed out.
  uint64_t long_lines = 0;   ///< Lines cut at LineReader::kMaxLineBytes.
  uint64_t rotations = 0;    ///< The path named a new file.
  uint64_t truncations = 0;  ///< The file became shorter than the offset.
  uint64_t deleted = 0;      ///< The open file was deleted (closed after its last line).
  uint64_t missing = 0;      ///< Polls that found no file after having one or at start.
  uint64_t resumed = 0;      ///< Restore() positions taken up (1 when resumed after restart).
};

class FileTailer {
 public:
  /// Lines (without '\n'), valid during the call only.
  using Sink = std::function<void(std::span<const std::string_view> lines)>;

  explicit FileTailer(std::string path, const FileTailerOptions& options = {});
  ~FileTailer();
  FileTailer(const FileTailer&) = delete;
  FileTailer& operator=(const FileTailer&) = delete;

  /// Sets the position to resume from (call before the first Poll).
  void Restore(const TailPosition& p);
  /// Reads what is new and hands complete lines to `sink` (possibly in several calls). `*more`
  /// (may be null) is set when the read bound stopped it. IoError on a read failure of an open
  /// file (the file is closed and reopened at the next poll, from the saved position).
  Status Poll(const Sink& sink, bool* more);
  /// The position after the last line handed to the sink.
  TailPosition position() const;
  const FileTailerStats& stats() const { return stats_; }
  const std::string& path() const { return path_; }
  /// Whether a file is open (false while the path is missing and the last file was deleted).
  bool is_open() const { return fd_ >= 0; }

 private:
  bool OpenPath();       // opens path_ at pos_ (or 0); false when missing
  bool ResumeRotated();  // finds the restored file under another name
  Status ReadSome(const Sink& sink, size_t budget, size_t* got);  // from fd_ at read_off_
  void Emit(std::string_view bytes, bool final, const Sink& sink);
  void Close();
  void NoteHead(std::string_view bytes, uint64_t at);

  std::string path_;
  FileTailerOptions options_;
  int fd_ = -1;
  uint64_t dev_ = 0, inode_ = 0;
  uint64_t read_off_ = 0;  // bytes read from the file (pending_ holds the unfinished line)
  std::string pending_;    // bytes of the unfinished last line
  bool skipping_ = false;  // dropping the rest of a cut long line
  uint64_t skip_bytes_ = 0;
  std::string head_;  // first bytes of the file (up to the fingerprint length)
  bool have_restore_ = false;
  TailPosition restore_;
  bool was_missing_ = false;
  FileTailerStats stats_;
  std::vector<std::string_view> lines_;  // scratch
  std::string buf_;                      // scratch
};

}  // namespace backsight::logs

#endif  // BACKSIGHT_LOGS_FILE_TAILER_H_
