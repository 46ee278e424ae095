// Byte-level encoding used for serialised state (detector checkpoints, miner state).
// Little-endian fixed-width integers and IEEE-754 doubles (bit patterns preserved, so a restored
// state is bit-identical), LEB128 varints, length-prefixed strings.
#ifndef BACKSIGHT_CORE_BYTE_IO_H_
#define BACKSIGHT_CORE_BYTE_IO_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "backsight/core/status.h"

namespace backsight {

/// Appends encoded values to a caller-owned std::string. Never fails.
class ByteWriter {
 public:
  explicit ByteWriter(std::string* out) : out_(out) {}
  void PutU8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void PutU32(uint32_t v);
  void PutU64(uint64_t v);
  void PutI64(int64_t v) { PutU64(static_cast<uint64_t>(v)); }
  /// Stores the exact bit pattern of `v` (NaN payloads included).
  void PutDouble(double v);
  /// Unsigned LEB128.
  void PutVarint(uint64_t v);
  /// Varint length followed by the bytes.
  void PutString(std::string_view s);

 private:
  std::string* out_;
};

/// Reads values written by ByteWriter from a borrowed buffer. Every getter returns Corruption
/// (naming the byte offset and the field) when the buffer is too short or a varint is malformed;
/// after an error the reader's position is unspecified.
class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}
  Status GetU8(uint8_t* v, const char* field);
  Status GetU32(uint32_t* v, const char* field);
  Status GetU64(uint64_t* v, const char* field);
  Status GetI64(int64_t* v, const char* field);
  Status GetDouble(double* v, const char* field);
  Status GetVarint(uint64_t* v, const char* field);
  Status GetString(std::string* v, const char* field);
  /// Reads the u32 magic and u32 version that open a saved state (docs/formats.md). Returns
  /// Corruption naming `what` when the magic differs ("bad magic at byte 0") or the version is
  /// not `version` (saying which one this build reads and that the state must be rebuilt).
  Status GetStateHeader(uint32_t magic, uint32_t version, std::string_view what);
  size_t position() const { return pos_; }
  size_t remaining() const { return in_.size() - pos_; }
  bool done() const { return pos_ == in_.size(); }

 private:
  Status Short(const char* field, size_t need) const;
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace backsight

#endif  // BACKSIGHT_CORE_BYTE_IO_H_
