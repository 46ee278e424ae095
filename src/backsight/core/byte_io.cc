#include "backsight/core/byte_io.h"

#include <cstring>

namespace backsight {

void ByteWriter::PutU32(uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out_->append(b, 4);
}

void ByteWriter::PutU64(uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out_->append(b, 8);
}

void ByteWriter::PutDouble(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  PutU64(bits);
}

void ByteWriter::PutVarint(uint64_t v) {
  while (v >= 0x80) {
    out_->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_->push_back(static_cast<char>(v));
}

void ByteWriter::PutString(std::string_view s) {
  PutVarint(s.size());
  out_->append(s.data(), s.size());
}

Status ByteReader::Short(const char* field, size_t need) const {
  return Status::Corruption("truncated state at byte " + std::to_string(pos_) + " reading '" +
                            field + "' (need " + std::to_string(need) + " bytes, have " +
                            std::to_string(remaining()) + ")");
}

Status ByteReader::GetU8(uint8_t* v, const char* field) {
  if (remaining() < 1) return Short(field, 1);
  *v = static_cast<uint8_t>(in_[pos_++]);
  return Status::OK();
}

Status ByteReader::GetU32(uint32_t* v, const char* field) {
  if (remaining() < 4) return Short(field, 4);
  uint32_t r = 0;
  for (int i = 0; i < 4; ++i)
    r |= static_cast<uint32_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
  pos_ += 4;
  *v = r;
  return Status::OK();
}

Status ByteReader::GetStateHeader(uint32_t magic, uint32_t version, std::string_view what) {
  uint32_t m = 0, v = 0;
  BACKSIGHT_RETURN_IF_ERROR(GetU32(&m, "magic"));
  if (m != magic) return Status::Corruption(std::string(what) + ": bad magic at byte 0");
  BACKSIGHT_RETURN_IF_ERROR(GetU32(&v, "version"));
  if (v != version) {
    return Status::Corruption(std::string(what) + ": unsupported version " + std::to_string(v) +
                              " (this build reads version " + std::to_string(version) +
                              "); start without this state to rebuild it");
  }
  return Status::OK();
}

Status ByteReader::GetU64(uint64_t* v, const char* field) {
  if (remaining() < 8) return Short(field, 8);
  uint64_t r = 0;
  for (int i = 0; i < 8; ++i)
    r |= static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
  pos_ += 8;
  *v = r;
  return Status::OK();
}

Status ByteReader::GetI64(int64_t* v, const char* field) {
  uint64_t u = 0;
  BACKSIGHT_RETURN_IF_ERROR(GetU64(&u, field));
  *v = static_cast<int64_t>(u);
  return Status::OK();
}

Status ByteReader::GetDouble(double* v, const char* field) {
  uint64_t u = 0;
  BACKSIGHT_RETURN_IF_ERROR(GetU64(&u, field));
  std::memcpy(v, &u, sizeof u);
  return Status::OK();
}

Status ByteReader::GetVarint(uint64_t* v, const char* field) {
  uint64_t r = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (remaining() < 1) return Short(field, 1);
    uint8_t b = static_cast<uint8_t>(in_[pos_++]);
    r |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = r;
      return Status::OK();
    }
  }
  return Status::Corruption("varint longer than 10 bytes at byte " + std::to_string(pos_) +
                            " reading '" + field + "'");
}

Status ByteReader::GetString(std::string* v, const char* field) {
  uint64_t n;
  BACKSIGHT_RETURN_IF_ERROR(GetVarint(&n, field));
  if (n > remaining()) return Short(field, n);
  v->assign(in_.data() + pos_, n);
  pos_ += n;
  return Status::OK();
}

}  // namespace backsight
