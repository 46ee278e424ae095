// Connection: a libpq session to PostgreSQL that returns Status values with clear reasons.
#ifndef BACKSIGHT_DB_CONNECTION_H_
#define BACKSIGHT_DB_CONNECTION_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backsight/core/status.h"

struct pg_conn;

namespace backsight::db {

/// Rows of one query result as text (libpq text format); a SQL NULL is an empty string and is
/// flagged in `null`.
struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::vector<bool>> null;
};

/// One libpq connection (PQconnectdb). Not thread-safe; one per thread.
/// Errors (all with the server's or libpq's message appended):
///   Unavailable  — server unreachable (refused, unknown host, timeout) or connection lost;
///   InvalidArgument — authentication failed (SQLSTATE 28xxx), a bad DSN, or a statement the
///                 server rejects (syntax, unknown column);
///   NotFound     — a required extension is missing (the message names the `CREATE EXTENSION`);
///   OutOfRange   — insufficient privilege (SQLSTATE 42501).
class Connection {
 public:
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Connects to `dsn` (a postgresql:// URI or key=value string). A connect timeout of
  /// kConnectTimeoutSeconds is added when the DSN gives none.
  static Status Open(const std::string& dsn, std::unique_ptr<Connection>* out);

  /// Runs one or more SQL statements (simple query protocol); *out, when given, receives the
  /// rows of the last one.
  Status Query(const std::string& sql, QueryResult* out = nullptr);

  /// Runs `sql` and returns the first column of its first row in *out (NotFound if no row).
  Status QueryValue(const std::string& sql, std::string* out);

  /// OK when extension `name` is installed in the current database, else NotFound whose message
  /// says which `CREATE EXTENSION` to run (and the Debian package when known).
  Status RequireExtension(const std::string& name);

  /// Server version number (e.g. 150018), from PQserverVersion.
  int ServerVersion() const;

  /// Number of statements sent through Query/QueryValue since Open (for reporting).
  long statements_sent() const { return statements_sent_; }

  /// Seconds PQconnectdb waits for the server when the DSN sets no connect_timeout.
  static constexpr int kConnectTimeoutSeconds = 5;

 private:
  explicit Connection(pg_conn* conn) : conn_(conn) {}
  pg_conn* conn_;
  long statements_sent_ = 0;
};

/// Quotes `s` as a SQL string literal ('...', quotes doubled).
std::string QuoteLiteral(std::string_view s);
/// Quotes `s` as a SQL identifier when needed ("...", quotes doubled); plain lower-case
/// identifiers are returned as they are.
std::string QuoteIdent(std::string_view s);

}  // namespace backsight::db

#endif  // BACKSIGHT_DB_CONNECTION_H_
