#include "backsight/db/connection.h"

#include <libpq-fe.h>

#include <cctype>
#include <cstring>

namespace backsight::db {
namespace {

// libpq messages end in a newline; strip trailing white space.
std::string Trimmed(const char* msg) {
  std::string s = msg ? msg : "";
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// Maps a failed result to a Status by its SQLSTATE (PostgreSQL Appendix A, "Error Codes").
Status ResultError(PGresult* res, pg_conn* conn) {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  // The primary message and the statement position on one line (the full text repeats the
  // statement over several lines).
  const char* primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  const char* position = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : nullptr;
  std::string msg =
      primary ? std::string(primary) + (position ? " (position " + std::string(position) + ")" : "")
              : Trimmed(res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
  if (PQstatus(conn) == CONNECTION_BAD) {
    return Status::Unavailable("connection to the server lost: " + msg);
  }
  std::string code = state ? state : "";
  if (code == "42501") return Status::OutOfRange("insufficient privilege: " + msg);
  if (code.rfind("28", 0) == 0) return Status::InvalidArgument("authentication failed: " + msg);
  if (code == "42883" && msg.find("hypopg") != std::string::npos) {
    return Status::NotFound("extension hypopg is missing: run CREATE EXTENSION hypopg; (" + msg +
                            ")");
  }
  return Status::InvalidArgument(msg + (code.empty() ? "" : " (SQLSTATE " + code + ")"));
}

}  // namespace

Connection::~Connection() { PQfinish(conn_); }

Status Connection::Open(const std::string& dsn, std::unique_ptr<Connection>* out) {
  // Keyword arrays let us add a connect timeout without editing the caller's DSN.
  const char* keys[] = {"dbname", "connect_timeout", nullptr};
  const std::string timeout = std::to_string(kConnectTimeoutSeconds);
  const char* values[] = {dsn.c_str(), timeout.c_str(), nullptr};
  pg_conn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return Status::Internal("libpq could not allocate a connection");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = Trimmed(PQerrorMessage(conn));
    PQfinish(conn);
    if (msg.find("password authentication failed") != std::string::npos ||
        msg.find("authentication") != std::string::npos ||
        msg.find("no pg_hba.conf entry") != std::string::npos ||
        msg.find("does not exist") != std::string::npos) {
      return Status::InvalidArgument("cannot log in to " + dsn + ": " + msg);
    }
    if (msg.find("invalid") != std::string::npos && msg.find("connection") == std::string::npos) {
      return Status::InvalidArgument("bad DSN " + dsn + ": " + msg);
    }
    return Status::Unavailable("server unreachable at " + dsn + ": " + msg);
  }
  out->reset(new Connection(conn));
  return Status::OK();
}

Status Connection::Query(const std::string& sql, QueryResult* out) {
  ++statements_sent_;
  if (PQsendQuery(conn_, sql.c_str()) == 0) return ResultError(nullptr, conn_);
  Status st;
  PGresult* last = nullptr;
  while (PGresult* res = PQgetResult(conn_)) {
    const auto rs = PQresultStatus(res);
    if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK && rs != PGRES_EMPTY_QUERY && st.ok()) {
      st = ResultError(res, conn_);
    }
    if (last) PQclear(last);
    last = res;
  }
  if (st.ok() && out != nullptr && last != nullptr) {
    out->columns.clear();
    out->rows.clear();
    out->null.clear();
    const int nf = PQnfields(last), nt = PQntuples(last);
    for (int f = 0; f < nf; ++f) out->columns.emplace_back(PQfname(last, f));
    out->rows.resize(nt);
    out->null.resize(nt);
    for (int t = 0; t < nt; ++t) {
      for (int f = 0; f < nf; ++f) {
        out->rows[t].emplace_back(PQgetvalue(last, t, f), PQgetlength(last, t, f));
        out->null[t].push_back(PQgetisnull(last, t, f) != 0);
      }
    }
  }
  if (last) PQclear(last);
  if (st.ok() && PQstatus(conn_) == CONNECTION_BAD) return ResultError(nullptr, conn_);
  return st;
}

Status Connection::QueryValue(const std::string& sql, std::string* out) {
  QueryResult r;
  BACKSIGHT_RETURN_IF_ERROR(Query(sql, &r));
  if (r.rows.empty() || r.rows[0].empty()) return Status::NotFound("no row from: " + sql);
  *out = r.rows[0][0];
  return Status::OK();
}

Status Connection::RequireExtension(const std::string& name) {
  QueryResult r;
  BACKSIGHT_RETURN_IF_ERROR(
      Query("SELECT 1 FROM pg_extension WHERE extname = " + QuoteLiteral(name), &r));
  if (!r.rows.empty()) return Status::OK();
  std::string package;
  if (name == "hypopg") package = "postgresql-15-hypopg";
  if (name == "pg_qualstats") package = "postgresql-15-pg-qualstats";
  if (name == "pg_stat_statements") package = "postgresql-15 (and shared_preload_libraries)";
  return Status::NotFound("extension " + name +
                          " is not installed in this database: run CREATE EXTENSION " + name + ";" +
                          (package.empty() ? "" : " (Debian package " + package + ")"));
}

int Connection::ServerVersion() const { return PQserverVersion(conn_); }

std::string QuoteLiteral(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string QuoteIdent(std::string_view s) {
  bool plain = !s.empty() && (std::islower(static_cast<unsigned char>(s[0])) || s[0] == '_');
  for (char c : s) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '_')) {
      plain = false;
    }
  }
  if (plain) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace backsight::db
