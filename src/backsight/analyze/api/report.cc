#include "backsight/analyze/api/report.h"

#include <cctype>
#include <nlohmann/json.hpp>
#include <sstream>

#include "backsight/core/markup_escape.h"

namespace backsight::api {
namespace {

// GitHub workflow command escaping (actions/toolkit, command.ts: escapeData / escapeProperty).
std::string GithubData(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '%') {
      out += "%25";
    } else if (c == '\r') {
      out += "%0D";
    } else if (c == '\n') {
      out += "%0A";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string GithubProperty(std::string_view s) {
  std::string out;
  for (char c : GithubData(s)) {
    if (c == ':') {
      out += "%3A";
    } else if (c == ',') {
      out += "%2C";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string MarkdownCell(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\";
    out.push_back(c == '\n' ? ' ' : c);
  }
  return out;
}

}  // namespace

Verdict Summarise(const std::vector<Change>& changes) {
  if (changes.empty()) return Verdict::kNoChange;
  for (const Change& c : changes) {
    if (c.level >= Level::kWarning) return Verdict::kBreaking;
  }
  return Verdict::kCompatible;
}

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kNoChange:
      return "no-change";
    case Verdict::kCompatible:
      return "compatible";
    case Verdict::kBreaking:
      return "breaking";
  }
  return "breaking";
}

bool ParseReportFormat(std::string_view text, ReportFormat* out) {
  if (text == "text") {
    *out = ReportFormat::kText;
  } else if (text == "json") {
    *out = ReportFormat::kJson;
  } else if (text == "markdown") {
    *out = ReportFormat::kMarkdown;
  } else if (text == "junit") {
    *out = ReportFormat::kJunit;
  } else if (text == "github") {
    *out = ReportFormat::kGithub;
  } else {
    return false;
  }
  return true;
}

std::string RenderReport(const std::vector<Change>& changes, ReportFormat format, Level fail_on) {
  int counts[3] = {0, 0, 0};
  for (const Change& c : changes) ++counts[static_cast<int>(c.level)];
  const char* verdict = VerdictName(Summarise(changes));
  std::ostringstream out;
  switch (format) {
    case ReportFormat::kText:
      for (const Change& c : changes) {
        out << LevelName(c.level) << " " << c.rule << " "
            << (c.operation.empty() ? "(document)" : c.operation) << ": " << c.text << " [base "
            << (c.base_location.empty() ? "-" : c.base_location) << " -> revision "
            << (c.revision_location.empty() ? "-" : c.revision_location) << "]\n";
      }
      out << changes.size() << " changes: " << counts[2] << " error, " << counts[1] << " warning, "
          << counts[0] << " info\n"
          << "verdict: " << verdict << "\n";
      break;
    case ReportFormat::kJson: {
      nlohmann::json arr = nlohmann::json::array();
      for (const Change& c : changes) {
        nlohmann::json j = {
            {"id", c.rule},   {"level", LevelName(c.level)}, {"operation", c.operation},
            {"text", c.text}, {"base", c.base_location},     {"revision", c.revision_location}};
        if (!c.note.empty()) j["note"] = c.note;
        arr.push_back(std::move(j));
      }
      nlohmann::json doc = {
          {"verdict", verdict},
          {"counts", {{"error", counts[2]}, {"warning", counts[1]}, {"info", counts[0]}}},
          {"changes", std::move(arr)}};
      out << doc.dump(2) << "\n";
      break;
    }
    case ReportFormat::kMarkdown:
      out << "| level | rule | operation | change | base | revision |\n"
          << "|---|---|---|---|---|---|\n";
      for (const Change& c : changes) {
        out << "| " << LevelName(c.level) << " | `" << c.rule << "` | " << MarkdownCell(c.operation)
            << " | " << MarkdownCell(c.text) << " | " << MarkdownCell(c.base_location) << " | "
            << MarkdownCell(c.revision_location) << " |\n";
      }
      out << "\n"
          << changes.size() << " changes: " << counts[2] << " error, " << counts[1] << " warning, "
          << counts[0] << " info; verdict: **" << verdict << "**\n";
      break;
    case ReportFormat::kJunit: {
      int failures = 0;
      for (const Change& c : changes) failures += c.level >= fail_on;
      out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          << "<testsuites>\n<testsuite name=\"backsight api diff\" tests=\"" << changes.size()
          << "\" failures=\"" << failures << "\">\n";
      for (const Change& c : changes) {
        out << "  <testcase classname=\"" << XmlEscape(c.operation) << "\" name=\""
            << XmlEscape(c.rule) << "\"";
        if (c.level >= fail_on) {
          out << ">\n    <failure type=\"" << LevelName(c.level) << "\" message=\""
              << XmlEscape(c.text) << "\">" << XmlEscape(c.base_location) << " -> "
              << XmlEscape(c.revision_location) << "</failure>\n  </testcase>\n";
        } else {
          out << "/>\n";
        }
      }
      out << "</testsuite>\n</testsuites>\n";
      break;
    }
    case ReportFormat::kGithub:
      for (const Change& c : changes) {
        const std::string& loc =
            c.revision_location.empty() ? c.base_location : c.revision_location;
        std::string file = loc, line;
        if (size_t colon = loc.rfind(':'); colon != std::string::npos) {
          file = loc.substr(0, colon);
          line = loc.substr(colon + 1);
        }
        const char* cmd =
            c.level >= fail_on ? (c.level == Level::kError ? "error" : "warning") : "notice";
        out << "::" << cmd << " file=" << GithubProperty(file);
        if (!line.empty()) out << ",line=" << GithubProperty(line);
        out << ",title=" << GithubProperty(c.rule)
            << "::" << GithubData((c.operation.empty() ? "" : c.operation + ": ") + c.text) << "\n";
      }
      break;
  }
  return out.str();
}

std::string NormaliseOperation(std::string_view operation) {
  std::istringstream in{std::string(operation)};
  std::string method, path;
  in >> method >> path;
  for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string norm;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '{') {
      size_t close = path.find('}', i);
      if (close != std::string::npos) {
        norm += "{}";
        i = close;
        continue;
      }
    }
    norm.push_back(path[i]);
  }
  return path.empty() ? method : method + " " + norm;
}

Status IgnoreList::Parse(std::string_view text, const std::string& name) {
  std::istringstream in{std::string(text)};
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::string rule, method, path, extra;
    if (!(words >> rule)) continue;
    words >> method >> path;
    if (!method.empty() && path.empty()) {
      return Status::InvalidArgument(
          Reason::kMalformed,
          name + ":" + std::to_string(n) + ": expected 'RULE-ID' or 'RULE-ID METHOD /path'");
    }
    entries_.push_back({rule, method.empty() ? "" : NormaliseOperation(method + " " + path)});
  }
  return Status::OK();
}

bool IgnoreList::Matches(const Change& c) const {
  for (const Entry& e : entries_) {
    if (e.rule != c.rule) continue;
    if (e.operation.empty() || e.operation == NormaliseOperation(c.operation)) return true;
  }
  return false;
}

bool FailsAt(const std::vector<Change>& changes, bool check_fail_on, Level fail_on) {
  if (!check_fail_on) return false;
  for (const Change& c : changes) {
    if (c.level >= fail_on) return true;
  }
  return false;
}

}  // namespace backsight::api
