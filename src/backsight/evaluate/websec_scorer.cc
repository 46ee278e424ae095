#include "backsight/evaluate/websec_scorer.h"

#include <fstream>

#include "backsight/core/csv.h"

namespace backsight::evaluate {
namespace {

const char* const kKinds[] = {"brute_force",     "credential_stuffing", "scanner",
                              "injection_probe", "abusive_client",      "other"};

}  // namespace

Status ReadWebsecLabels(const std::string& path, std::vector<WebsecRow>* labels,
                        std::set<std::string>* ignore) {
  std::ifstream in(path);
  if (!in) return Status::IoError(path + ": cannot open");
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const std::vector<std::string> f = SplitDelimited(line, '\t');
    if (f.size() < 4 || f[0] == "source_ip" || f[0].empty() || f[0][0] == '#') continue;
    WebsecRow r;
    r.ip = f[0];
    try {
      r.start = std::stod(f[1]);
      r.end = std::stod(f[2]);
    } catch (const std::exception&) {
      return Status::InvalidArgument(Reason::kMalformed,
                                     path + ":" + std::to_string(line_no) + ": bad epoch time");
    }
    r.kind = f[3];
    if (r.kind == "ignore") {
      ignore->insert(r.ip);
    } else {
      labels->push_back(r);
    }
  }
  return Status::OK();
}

WebsecScore ScoreWebsec(const std::vector<WebsecRow>& labels, const std::set<std::string>& ignore,
                        const std::vector<WebsecRow>& predictions,
                        const std::set<std::string>& all_ips, double tol_s) {
  auto hit = [tol_s](const WebsecRow& l, const WebsecRow& p) {
    return p.start <= l.end + tol_s && p.end >= l.start;
  };
  // Lookups never insert (an inserted empty entry would count as "predicted" or "labelled").
  static const std::vector<const WebsecRow*> kNone;
  auto rows = [](const std::map<std::string, std::vector<const WebsecRow*>>& m,
                 const std::string& ip) -> const std::vector<const WebsecRow*>& {
    auto it = m.find(ip);
    return it == m.end() ? kNone : it->second;
  };
  std::map<std::string, std::vector<const WebsecRow*>> by_ip;
  for (const WebsecRow& p : predictions) by_ip[p.ip].push_back(&p);
  std::map<std::string, std::vector<const WebsecRow*>> labels_by_ip;
  for (const WebsecRow& l : labels) labels_by_ip[l.ip].push_back(&l);
  WebsecScore s;
  for (const char* k : kKinds) {
    WebsecKindScore& ks = s.per_kind[k];
    for (const WebsecRow& l : labels) {
      if (l.kind != k) continue;
      ++ks.labelled;
      bool f = false, kf = false;
      for (const WebsecRow* p : rows(by_ip, l.ip)) {
        if (!hit(l, *p)) continue;
        f = true;
        kf |= p->kind == k;
      }
      ks.found += f;
      ks.kind_found += kf;
    }
    s.overall.labelled += ks.labelled;
    s.overall.found += ks.found;
    s.overall.kind_found += ks.kind_found;
  }
  // Status of each predicted address: tp (matches a label window), ignored, or fp.
  std::map<std::string, int> status;  // 0 tp, 1 ignored, 2 fp
  for (const auto& [ip, ps] : by_ip) {
    bool tp = false;
    for (const WebsecRow* p : ps) {
      for (const WebsecRow* l : rows(labels_by_ip, ip)) tp |= hit(*l, *p);
    }
    status[ip] = tp ? 0 : ignore.count(ip) ? 1 : 2;
  }
  for (const char* k : kKinds) {
    WebsecKindScore& ks = s.per_kind[k];
    std::set<std::string> ips;
    for (const WebsecRow& p : predictions) {
      if (p.kind == k) ips.insert(p.ip);
    }
    int ign = 0;
    for (const std::string& ip : ips) {
      bool tp = false;
      for (const WebsecRow* p : rows(by_ip, ip)) {
        if (p->kind != k) continue;
        for (const WebsecRow* l : rows(labels_by_ip, ip)) tp |= l->kind == k && hit(*l, *p);
      }
      ks.tp_ips += tp;
      ks.fp_ips += status[ip] == 2;
      ign += status[ip] == 1;
    }
    ks.pred_ips = static_cast<int>(ips.size());
    ks.wrong_kind_ips = ks.pred_ips - ks.tp_ips - ks.fp_ips - ign;
  }
  for (const auto& [ip, st] : status) {
    s.overall.tp_ips += st == 0;
    s.overall.fp_ips += st == 2;
    s.ignored_flagged += st == 1;
  }
  s.overall.pred_ips = static_cast<int>(status.size());
  for (const std::string& ip : all_ips) {
    if (labels_by_ip.count(ip) || ignore.count(ip)) continue;
    ++s.benign_ips;
    s.benign_flagged += by_ip.count(ip) > 0;
  }
  return s;
}

}  // namespace backsight::evaluate
