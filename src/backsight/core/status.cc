#include "backsight/core/status.h"

namespace backsight {

namespace {
const char* CodeName(Status::Code c) {
  switch (c) {
    case Status::Code::kOk:
      return "OK";
    case Status::Code::kInvalidArgument:
      return "InvalidArgument";
    case Status::Code::kNotFound:
      return "NotFound";
    case Status::Code::kCorruption:
      return "Corruption";
    case Status::Code::kIoError:
      return "IoError";
    case Status::Code::kOutOfRange:
      return "OutOfRange";
    case Status::Code::kResourceExhausted:
      return "ResourceExhausted";
    case Status::Code::kUnavailable:
      return "Unavailable";
    case Status::Code::kInternal:
      return "Internal";
  }
  return "Unknown";
}
}  // namespace

const char* ReasonName(Reason r) {
  switch (r) {
    case Reason::kNone:
      return "none";
    case Reason::kMalformed:
      return "malformed";
    case Reason::kTooLarge:
      return "too_large";
    case Reason::kUnsupportedEncoding:
      return "content_encoding";
    case Reason::kUnsupportedMediaType:
      return "content_type";
    case Reason::kCompression:
      return "compression";
    case Reason::kSnappy:
      return "snappy";
    case Reason::kUtf8:
      return "utf8";
    case Reason::kJson:
      return "json";
    case Reason::kLabels:
      return "labels";
    case Reason::kTimestamp:
      return "timestamp";
    case Reason::kQueueFull:
      return "queue_full";
    case Reason::kNotConfigured:
      return "not_configured";
    case Reason::kNotFinite:
      return "non_finite_value";
    case Reason::kDuplicateTimestamp:
      return "duplicate_timestamp";
    case Reason::kOutOfOrder:
      return "out_of_order_timestamp";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(CodeName(code_)) + ": " + msg_;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  return Status(code_, reason_, std::string(context) + ": " + msg_);
}

}  // namespace backsight
