#include "backsight/server/startup_report.h"

namespace backsight::server {

void StartupReport::Add(const std::string& kind, const std::string& series,
                        const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  ++total_;
  if (log_ != nullptr && total_ <= kMaxLogged) {
    std::fprintf(log_, "backsight serve: skipped %s of %s: %s\n", kind.c_str(), series.c_str(),
                 reason.c_str());
  }
  if (kept_.size() < kMaxKept) kept_.push_back({kind, series, reason});
}

void StartupReport::FinishLog() {
  std::lock_guard<std::mutex> lock(mu_);
  if (log_ != nullptr && total_ > kMaxLogged) {
    std::fprintf(log_, "backsight serve: ... and %llu more skipped entries (see /api/v1/status)\n",
                 static_cast<unsigned long long>(total_ - kMaxLogged));
  }
  if (log_ != nullptr) std::fflush(log_);
}

uint64_t StartupReport::problems() const {
  std::lock_guard<std::mutex> lock(mu_);
  return total_;
}

nlohmann::json StartupReport::ProblemsJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& p : kept_) {
    entries.push_back({{"kind", p.kind}, {"series", p.series}, {"reason", p.reason}});
  }
  return {{"total", total_}, {"truncated", total_ > kept_.size()}, {"entries", entries}};
}

}  // namespace backsight::server
