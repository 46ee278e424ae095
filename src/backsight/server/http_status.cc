#include "backsight/server/http_status.h"

#include "backsight/server/http_server.h"

namespace backsight::server {

namespace {
// Codes of RFC 9110 §15 (429: RFC 6585 §4).
constexpr int kOk = 200;
constexpr int kBadRequest = 400;
constexpr int kNotFound = 404;
constexpr int kConflict = 409;
constexpr int kPayloadTooLarge = 413;
constexpr int kUnsupportedMediaType = 415;
constexpr int kTooManyRequests = 429;
constexpr int kInternalServerError = 500;
constexpr int kServiceUnavailable = 503;
// Seconds a client is asked to wait before retrying a 429 or 503.
constexpr const char* kRetryAfterSeconds = "1";
}  // namespace

int HttpStatusFor(const Status& st) {
  if (st.ok()) return kOk;
  switch (st.reason()) {
    case Reason::kTooLarge:
      return kPayloadTooLarge;
    case Reason::kUnsupportedEncoding:
    case Reason::kUnsupportedMediaType:
      return kUnsupportedMediaType;
    case Reason::kQueueFull:
      if (st.code() == Status::Code::kResourceExhausted) return kTooManyRequests;
      break;
    case Reason::kNotConfigured:
      return kConflict;
    default:
      break;
  }
  switch (st.code()) {
    case Status::Code::kOk:
      return kOk;
    case Status::Code::kInvalidArgument:
    case Status::Code::kOutOfRange:
      return kBadRequest;
    case Status::Code::kNotFound:
      return kNotFound;
    case Status::Code::kResourceExhausted:
    case Status::Code::kUnavailable:
      return kServiceUnavailable;
    case Status::Code::kCorruption:
    case Status::Code::kIoError:
    case Status::Code::kInternal:
      return kInternalServerError;
  }
  return kInternalServerError;
}

void SetErrorResponse(const Status& st, std::string body, std::string content_type,
                      HttpResponse* res) {
  res->Set(HttpStatusFor(st), std::move(body), std::move(content_type));
  res->reason = st.reason();
  if (res->status == kTooManyRequests || res->status == kServiceUnavailable) {
    res->SetHeader("Retry-After", kRetryAfterSeconds);
  }
}

void SetTextErrorResponse(const Status& st, HttpResponse* res) {
  SetErrorResponse(st, std::to_string(HttpStatusFor(st)) + ": " + st.message() + "\n", "text/plain",
                   res);
}

Status ProtobufOrJsonBody(const HttpRequest& req, bool* is_json) {
  std::string ct = req.header("Content-Type");
  ct = ct.substr(0, ct.find(';'));
  *is_json = ct == "application/json";
  if (*is_json || ct == "application/x-protobuf") return Status::OK();
  return Status::InvalidArgument(Reason::kUnsupportedMediaType,
                                 "Content-Type must be application/x-protobuf or application/json");
}

}  // namespace backsight::server
