// The one mapping from a Status to an HTTP status code, used by every route and by the HTTP
// server's own refusals.
#ifndef BACKSIGHT_SERVER_HTTP_STATUS_H_
#define BACKSIGHT_SERVER_HTTP_STATUS_H_

#include <string>

#include "backsight/core/status.h"

namespace backsight::server {

struct HttpResponse;
struct HttpRequest;

/// HTTP status code (RFC 9110 §15) for `st`. The typed reason decides first, then the code:
///   OK -> 200; Reason kTooLarge -> 413; kUnsupportedEncoding / kUnsupportedMediaType -> 415;
///   kResourceExhausted with kQueueFull -> 429 (the only way to 429); kNotConfigured -> 409;
///   InvalidArgument / OutOfRange -> 400; NotFound -> 404; Unavailable and any other
///   ResourceExhausted -> 503; Corruption / IoError / Internal -> 500.
int HttpStatusFor(const Status& st);

/// Answers `st` (not OK): status HttpStatusFor(st), `body` with `content_type`, the reason kept in
/// res->reason for the metrics, and `Retry-After: 1` on 429 and 503 (both are worth a retry).
void SetErrorResponse(const Status& st, std::string body, std::string content_type,
                      HttpResponse* res);

/// SetErrorResponse with the plain-text body every ingest route answers: "<code>: <message>\n"
/// (e.g. "429: engine queues full\n").
void SetTextErrorResponse(const Status& st, HttpResponse* res);

/// Checks the Content-Type of an OTLP/HTTP or Loki push body (parameters after ';' ignored):
/// sets *is_json and returns OK for application/json or application/x-protobuf, else
/// InvalidArgument(kUnsupportedMediaType) (HTTP 415) saying which types are accepted.
Status ProtobufOrJsonBody(const HttpRequest& req, bool* is_json);

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_HTTP_STATUS_H_
