#include "backsight/security/finding_ledger.h"

#include <algorithm>
#include <climits>

#include "backsight/core/byte_io.h"

namespace backsight::security {

namespace {

// <state_dir>/security.state header (docs/formats.md): "BSSF" little-endian, version 1.
constexpr uint32_t kMagic = 0x46535342;
constexpr uint32_t kVersion = 1;

void PutKeys(const std::deque<std::string>& keys, ByteWriter* w) {
  w->PutVarint(keys.size());
  for (const std::string& k : keys) w->PutString(k);
}

Status GetKeys(ByteReader* r, const char* field, std::deque<std::string>* keys) {
  uint64_t n = 0;
  BACKSIGHT_RETURN_IF_ERROR(r->GetVarint(&n, field));
  if (n > r->remaining()) return Status::Corruption(std::string(field) + ": count past the end");
  keys->clear();
  for (uint64_t i = 0; i < n; ++i) {
    std::string k;
    BACKSIGHT_RETURN_IF_ERROR(r->GetString(&k, field));
    keys->push_back(std::move(k));
  }
  return Status::OK();
}

}  // namespace

FindingLedger::FindingLedger(size_t capacity, int64_t retention_s)
    : capacity_(capacity), retention_s_(retention_s) {
  sent_.capacity = forwarded_.capacity = capacity;
  sent_.changed = forwarded_.changed = &changed_;
}

std::string FindingLedger::Key(const Finding& f) { return f.source_ip + " " + KindName(f.kind); }

bool FindingLedger::Keys::Insert(const std::string& key, uint64_t* dropped) {
  if (!set.insert(key).second) return false;
  order.push_back(key);
  *changed = true;
  while (order.size() > capacity) {
    set.erase(order.front());
    order.pop_front();
    ++*dropped;
  }
  return true;
}

void FindingLedger::Keys::Erase(const std::unordered_set<std::string>& keys) {
  size_t before = set.size();
  for (const std::string& k : keys) set.erase(k);
  if (set.size() == before) return;
  std::erase_if(order, [this](const std::string& k) { return !set.count(k); });
  *changed = true;
}

std::vector<Finding> FindingLedger::Merge(const std::vector<Finding>& live, int64_t now_s) {
  clock_s_ = std::max(clock_s_, now_s);
  // Ended before this (log time): expired. No clock yet (0) expires nothing.
  const int64_t oldest_end = clock_s_ > 0 ? clock_s_ - retention_s_ : INT64_MIN;
  std::unordered_set<std::string> live_keys, expired;
  std::vector<Finding> fresh;
  fresh.reserve(live.size());
  for (const Finding& f : live) {
    if (f.end_s < oldest_end) {
      expired.insert(Key(f));
    } else {
      fresh.push_back(f);
    }
  }
  for (const Finding& f : fresh) {
    std::string key = Key(f);
    auto [it, added] = findings_.try_emplace(key, f);
    if (added) {
      finding_order_.push_back(key);
      changed_ = true;
    } else {
      it->second = f;
    }
    live_keys.insert(std::move(key));
  }
  for (const auto& [key, f] : findings_) {
    if (f.end_s < oldest_end) expired.insert(key);
  }
  // A key also judged fresh now (the address came back) is not expired.
  std::erase_if(expired, [&](const std::string& k) { return live_keys.count(k) > 0; });
  if (!expired.empty()) {
    const size_t before = findings_.size();
    for (const std::string& k : expired) findings_.erase(k);
    if (findings_.size() != before) {
      expired_ += before - findings_.size();
      std::erase_if(finding_order_, [this](const std::string& k) { return !findings_.count(k); });
      changed_ = true;
    }
    sent_.Erase(expired);
    forwarded_.Erase(expired);
  }
  while (finding_order_.size() > capacity_) {
    findings_.erase(finding_order_.front());
    finding_order_.pop_front();
    ++dropped_;
  }
  std::vector<Finding> out = std::move(fresh);
  for (const std::string& key : finding_order_) {
    if (!live_keys.count(key)) out.push_back(findings_.at(key));
  }
  return out;
}

void FindingLedger::Encode(std::string* out) {
  ByteWriter w(out);
  w.PutU32(kMagic);
  w.PutU32(kVersion);
  PutKeys(sent_.order, &w);
  PutKeys(forwarded_.order, &w);
  w.PutVarint(finding_order_.size());
  for (const std::string& key : finding_order_) {
    const Finding& f = findings_.at(key);
    w.PutString(f.source_ip);
    w.PutI64(f.start_s);
    w.PutI64(f.end_s);
    w.PutU8(static_cast<uint8_t>(f.kind));
    w.PutDouble(f.score);
    w.PutString(f.evidence);
  }
  changed_ = false;
}

Status FindingLedger::Decode(std::string_view data) {
  ByteReader r(data);
  BACKSIGHT_RETURN_IF_ERROR(r.GetStateHeader(kMagic, kVersion, "security state"));
  std::deque<std::string> sent, forwarded, order;
  BACKSIGHT_RETURN_IF_ERROR(GetKeys(&r, "sent keys", &sent));
  BACKSIGHT_RETURN_IF_ERROR(GetKeys(&r, "forwarded keys", &forwarded));
  uint64_t n = 0;
  BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&n, "findings"));
  if (n > r.remaining()) return Status::Corruption("findings: count past the end");
  std::unordered_map<std::string, Finding> findings;
  for (uint64_t i = 0; i < n; ++i) {
    Finding f;
    uint8_t kind = 0;
    BACKSIGHT_RETURN_IF_ERROR(r.GetString(&f.source_ip, "finding source_ip"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&f.start_s, "finding start"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&f.end_s, "finding end"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetU8(&kind, "finding kind"));
    if (kind > static_cast<uint8_t>(Kind::kAbusiveClient)) {
      return Status::Corruption("finding kind " + std::to_string(kind) + " unknown");
    }
    f.kind = static_cast<Kind>(kind);
    BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&f.score, "finding score"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetString(&f.evidence, "finding evidence"));
    std::string key = Key(f);
    if (findings.try_emplace(key, std::move(f)).second) order.push_back(std::move(key));
  }
  if (!r.done()) return Status::Corruption("security state: trailing bytes");
  auto fill = [](std::deque<std::string> keys, Keys* into) {
    into->set.clear();
    into->order.clear();
    for (std::string& k : keys) {
      if (into->set.insert(k).second) into->order.push_back(std::move(k));
    }
  };
  fill(std::move(sent), &sent_);
  fill(std::move(forwarded), &forwarded_);
  finding_order_ = std::move(order);
  findings_ = std::move(findings);
  changed_ = false;
  return Status::OK();
}

}  // namespace backsight::security
