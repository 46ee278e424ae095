// OpenSSH authentication lines from auth.log / syslog / journald exports, e.g.
//   "Dec  2 10:00:01 host sshd[812]: Failed password for invalid user admin from 203.0.113.5 port
//    50122 ssh2" (RFC 3164 time, no year) or the same after an ISO-8601 time (rsyslog's
//   RSYSLOG_FileFormat). Messages as written by OpenSSH's auth.c / auth2.c.
#ifndef BACKSIGHT_SECURITY_AUTH_LOG_H_
#define BACKSIGHT_SECURITY_AUTH_LOG_H_

#include <cstdint>
#include <string_view>

#include "backsight/core/status.h"

namespace backsight::security {

/// What an sshd line says about a login.
enum class AuthOutcome { kFailed, kAccepted };

/// One sshd login attempt. Views point into the parsed line.
struct AuthEvent {
  AuthOutcome outcome = AuthOutcome::kFailed;
  std::string_view client;  // remote address
  std::string_view user;    // user name tried
  int64_t time_s = -1;      // epoch seconds; -1 when the time could not be read
};

/// True when the line comes from sshd (the syslog tag "sshd[" or "sshd:" appears); such lines are
/// parsed by ParseAuthLine instead of the access-log parser.
bool LooksLikeSshdLine(std::string_view line);

/// Parses an sshd line. Returns OK with *found = true for "Failed password|publickey|
/// keyboard-interactive/pam for [invalid user] U from IP", "Invalid user U from IP", "[error: ]
/// maximum authentication attempts exceeded for [invalid user] U from IP", the pre-auth ends
/// "Connection closed by|Disconnected from|Disconnecting authenticating|invalid user U IP port N"
/// (all failed) and "Accepted ... for U from IP"; OK with *found = false for other sshd messages
/// (session opened, a connection closed before any login, ...).
/// RFC 3164 times carry no year: `default_year` is used. InvalidArgument (kMalformed) when an
/// attempt line has no address.
Status ParseAuthLine(std::string_view line, int default_year, AuthEvent* out, bool* found);

}  // namespace backsight::security

#endif  // BACKSIGHT_SECURITY_AUTH_LOG_H_
