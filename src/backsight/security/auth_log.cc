#include "backsight/security/auth_log.h"

#include <cstdio>
#include <cstring>
#include <string>

#include "backsight/core/time.h"

namespace backsight::security {
namespace {

// Reads "Mmm dd HH:MM:SS" (RFC 3164 section 4.1.2; day space-padded) at the start of `line`.
bool ParseRfc3164Time(std::string_view line, int year, int64_t* out_s) {
  static constexpr char kMonths[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  if (line.size() < 15 || line[3] != ' ' || line[9] != ':' || line[12] != ':') return false;
  const char* m = static_cast<const char*>(memmem(kMonths, 36, line.data(), 3));
  if (m == nullptr || (m - kMonths) % 3 != 0) return false;
  const int month = static_cast<int>(m - kMonths) / 3 + 1;
  const int day = (line[4] == ' ' ? 0 : (line[4] - '0') * 10) + (line[5] - '0');
  char iso[32];
  std::snprintf(iso, sizeof(iso), "%04d-%02d-%02dT%.8sZ", year, month, day, line.data() + 7);
  TimestampNs ns;
  if (!TryParseTimestamp(iso, &ns)) return false;
  *out_s = ns / kNanosPerSecond;
  return true;
}

// The token after `key` in `s` (up to the next space), or empty.
std::string_view TokenAfter(std::string_view s, std::string_view key) {
  size_t p = s.find(key);
  if (p == std::string_view::npos) return {};
  p += key.size();
  size_t e = s.find(' ', p);
  return s.substr(p, e == std::string_view::npos ? std::string_view::npos : e - p);
}

// Reads the line's time into *out and sets *found (the attempt's outcome, user and address are
// already in *out).
Status FinishAuthEvent(std::string_view line, int default_year, AuthEvent* out, bool* found) {
  // Time: ISO 8601 first field (rsyslog file format) or RFC 3164 "Mmm dd HH:MM:SS".
  const size_t sp = line.find(' ');
  TimestampNs ns;
  if (sp != std::string_view::npos && TryParseTimestamp(line.substr(0, sp), &ns)) {
    out->time_s = ns / kNanosPerSecond;
  } else if (int64_t s; ParseRfc3164Time(line, default_year, &s)) {
    out->time_s = s;
  }
  *found = true;
  return Status::OK();
}

}  // namespace

bool LooksLikeSshdLine(std::string_view line) {
  return line.find(" sshd[") != std::string_view::npos ||
         line.find(" sshd:") != std::string_view::npos;
}

Status ParseAuthLine(std::string_view line, int default_year, AuthEvent* out, bool* found) {
  *out = AuthEvent();
  *found = false;
  size_t tag = line.find(" sshd[");
  if (tag == std::string_view::npos) tag = line.find(" sshd:");
  if (tag == std::string_view::npos) return Status::OK();
  size_t colon = line.find(": ", tag);
  if (colon == std::string_view::npos) return Status::OK();
  std::string_view msg = line.substr(colon + 2);
  // OpenSSH >= 7.4 logs some of these through error() / logit() with an "error: " prefix.
  if (msg.starts_with("error: ")) msg.remove_prefix(7);
  std::string_view user;
  // Pre-authentication ends of a login attempt that name the user and then the address without
  // "from" (OpenSSH auth.c / packet.c, 7.5+): "Connection closed by authenticating user U IP port
  // N [preauth]", "Disconnected from invalid user U IP port N [preauth]", "Disconnecting
  // authenticating user U IP port N: Too many authentication failures [preauth]". Each is a
  // failed attempt (fail2ban's sshd filter counts them too), the only trace of key-only probes.
  for (std::string_view prefix :
       {"Connection closed by ", "Disconnected from ", "Disconnecting "}) {
    if (!msg.starts_with(prefix)) continue;
    std::string_view rest = msg.substr(prefix.size());
    if (rest.starts_with("authenticating user ")) {
      rest.remove_prefix(20);
    } else if (rest.starts_with("invalid user ")) {
      rest.remove_prefix(13);
    } else {
      return Status::OK();  // a connection that never tried to log in
    }
    const size_t port = rest.rfind(" port ");
    if (port == std::string_view::npos) return Status::OK();
    const size_t sp = rest.rfind(' ', port - 1);
    if (sp == std::string_view::npos) return Status::OK();
    out->outcome = AuthOutcome::kFailed;
    out->user = rest.substr(0, sp);
    out->client = rest.substr(sp + 1, port - sp - 1);
    return FinishAuthEvent(line, default_year, out, found);
  }
  if (msg.starts_with("maximum authentication attempts exceeded for ")) {
    // "maximum authentication attempts exceeded for [invalid user] U from IP port N ssh2
    // [preauth]" (auth.c auth_maxtries_exceeded): the attempt after MaxAuthTries failures.
    out->outcome = AuthOutcome::kFailed;
    user = TokenAfter(msg, "invalid user ");
    if (user.empty()) user = TokenAfter(msg, "exceeded for ");
  } else if (msg.starts_with("Failed ")) {
    out->outcome = AuthOutcome::kFailed;
    user = TokenAfter(msg, "invalid user ");
    if (user.empty()) user = TokenAfter(msg, " for ");
  } else if (msg.starts_with("Invalid user ")) {
    out->outcome = AuthOutcome::kFailed;
    user = TokenAfter(msg, "Invalid user ");
  } else if (msg.starts_with("Accepted ")) {
    out->outcome = AuthOutcome::kAccepted;
    user = TokenAfter(msg, " for ");
  } else {
    return Status::OK();
  }
  // The user name may itself contain " from "; the address is the last " from X".
  size_t from = msg.rfind(" from ");
  std::string_view client =
      from == std::string_view::npos ? std::string_view() : TokenAfter(msg.substr(from), " from ");
  if (client.empty()) {
    return Status::InvalidArgument(
        Reason::kMalformed,
        "byte " + std::to_string(colon + 3) + ": sshd login message without \"from ADDRESS\"");
  }
  out->client = client;
  out->user = user;
  return FinishAuthEvent(line, default_year, out, found);
}

}  // namespace backsight::security
