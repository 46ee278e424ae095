// Write-ahead log: the records accepted since the last checkpoint, so that `kill -9` loses
// nothing that was acknowledged. Modelled on the Prometheus TSDB WAL
// (prometheus/tsdb/docs/format/wal.md): a directory of numbered segment files (`00000000`,
// `00000001`, ...), each a sequence of records framed with their length and a CRC32; a record
// cut short at the end of a segment (a torn write) is tolerated at replay and reported.
//
// Differences from Prometheus: no 32 KiB pages (a record is never split, so one record = one
// write(2)), a 4-byte little-endian length, and zlib's CRC32 (IEEE) instead of CRC32C. Record
// framing:
//
//   u8 type | u32 LE payload length | u32 LE crc32(payload) | payload
//
// The type is the payload's format version: 1 = a sample batch in the layout of sample_batch.h.
// A changed batch layout takes a new type, which older builds refuse as corrupt, never misread
// (docs/formats.md).
//
// Durability: Append() returns once the record is in the page cache (write(2)), which survives the
// process being killed. With `fsync`, it also fdatasync(2)s, which survives power loss at the cost
// of one disk flush per append; without it, power loss may lose the last unsynced appends.
//
// Life cycle (driven by the engine's checkpoint): Rotate() starts a new segment; once everything
// in the older segments is applied and checkpointed, RemoveBefore() deletes them. Open() always
// starts a new segment after the existing ones, so a torn tail is never appended to; the older
// segments are replayed with Replay().
#ifndef BACKSIGHT_STORE_WAL_H_
#define BACKSIGHT_STORE_WAL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "backsight/core/status.h"

struct iovec;

namespace backsight::store {

/// Bytes of a record header: type, length, CRC32.
inline constexpr size_t kWalHeaderBytes = 9;
/// Record type of a complete record holding a sample batch, layout version 1 (sample_batch.h).
/// A new batch layout gets a new type: the type is the format version.
inline constexpr uint8_t kWalFullRecord = 1;

struct WalOptions {
  /// A new segment is started when an append would grow the current one past this size
  /// (Prometheus' default segment size, 128 MiB).
  uint64_t segment_bytes = 128ull << 20;
  /// fdatasync(2) after every append (survives power loss; one disk flush per append).
  bool fsync = false;
};

/// Reads the records of one segment held in memory. Stops at the first record that is cut short
/// (torn) or fails its checks (bad type, bad CRC); everything before it is returned.
class WalSegmentReader {
 public:
  explicit WalSegmentReader(std::string_view data) : data_(data) {}
  /// Sets *payload to the next record and returns true; false at the end or at a bad record
  /// (then status() is Corruption saying why, and offset() is where the bad record starts).
  bool Next(std::string_view* payload);
  /// OK at a clean end of the segment; Corruption after a bad record.
  const Status& status() const { return status_; }
  /// True when the bad record runs past the end of the segment (a torn write).
  bool torn() const { return torn_; }
  /// Offset of the next record, or of the bad record.
  size_t offset() const { return pos_; }
  /// The bad record's payload as far as it is present (unverified; for naming what was lost).
  std::string_view bad_payload() const { return bad_payload_; }

 private:
  std::string_view data_;
  size_t pos_ = 0;
  Status status_;
  bool torn_ = false;
  std::string_view bad_payload_;
};

/// Appends the framing header and `payload` to *out (used by tests and tools).
void AppendWalRecord(std::string_view payload, std::string* out);
/// Frames a record in place: `*buf` holds kWalHeaderBytes of room, then the payload; fills in the
/// header (length, CRC32). Lets a caller pay for the CRC before taking its own lock around
/// Wal::AppendFramed.
void FrameWalRecord(std::string* buf);

/// A bad record found by Replay.
struct WalCorruption {
  uint64_t segment = 0;
  uint64_t offset = 0;      ///< byte offset of the bad record in its segment
  uint64_t bytes_lost = 0;  ///< bytes of the segment from the bad record to its end
  bool torn = false;        ///< cut short by the end of the segment (a torn write)
  std::string reason;
  std::string_view payload;  ///< the bad record's unverified payload (valid during the callback)
};

/// Figures of one Replay.
struct WalReplayStats {
  uint64_t segments = 0;
  uint64_t records = 0;  ///< records read intact
  uint64_t bytes = 0;    ///< bytes of the segments read
  uint64_t corrupt = 0;  ///< bad records (each ends its segment's replay)
};

/// The write-ahead log of one directory. Thread-safe (an internal mutex serialises calls).
class Wal {
 public:
  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  /// Opens the log in `dir` (created if missing), finds its segments and starts a new segment
  /// after the last one. Returns IoError naming the path on a file-system error.
  static Status Open(const std::string& dir, const WalOptions& options, std::unique_ptr<Wal>* out);

  /// Appends one record (one write(2); plus fdatasync(2) with options.fsync). Starts a new
  /// segment first when the current one would pass options.segment_bytes. IoError on failure
  /// (the record may then be partly written; a later Open starts a new segment after it).
  Status Append(std::string_view payload);
  /// As Append, for a record already framed by FrameWalRecord (just the write). *segment (may be
  /// null) gets the number of the segment the record went into.
  Status AppendFramed(std::string_view framed, uint64_t* segment = nullptr);
  /// Starts a new segment; *segment (may be null) gets its number: every record appended before
  /// the call is in a lower-numbered segment.
  Status Rotate(uint64_t* segment);
  /// Number of the segment the next record goes into (or a later one, after a rotation).
  uint64_t current_segment() const;
  /// Deletes the segments numbered below `segment`.
  Status RemoveBefore(uint64_t segment);

  /// Calls `fn` with every intact record of the segments numbered below `end`, in order. A bad
  /// record is passed to `on_corrupt` (may be null) and ends the replay of its segment; the next
  /// segment is still read. Stops and returns the error if `fn` fails, or IoError if a segment
  /// cannot be read.
  Status Replay(uint64_t end, const std::function<Status(std::string_view)>& fn,
                const std::function<void(const WalCorruption&)>& on_corrupt, WalReplayStats* stats);

  /// The segment Open() started: Replay(first_segment(), ...) reads everything written before.
  uint64_t first_segment() const { return first_segment_; }
  /// Number of segment files and their total size in bytes.
  size_t segment_count() const;
  uint64_t size_bytes() const;
  const std::string& dir() const { return dir_; }
  /// Path of segment `n` (8 decimal digits, as Prometheus names them).
  std::string SegmentPath(uint64_t n) const;

 private:
  Wal(std::string dir, const WalOptions& options) : dir_(std::move(dir)), opt_(options) {}
  Status OpenSegment(uint64_t n);  // requires mu_
  Status RotateLocked(uint64_t* segment);
  Status WriteLocked(const iovec* iov, int n, uint64_t bytes);

  const std::string dir_;
  const WalOptions opt_;
  uint64_t first_segment_ = 0;
  mutable std::mutex mu_;
  int fd_ = -1;
  uint64_t current_ = 0;
  uint64_t current_bytes_ = 0;
  std::vector<std::pair<uint64_t, uint64_t>> closed_;  // (segment, bytes), ascending
};

}  // namespace backsight::store

#endif  // BACKSIGHT_STORE_WAL_H_
