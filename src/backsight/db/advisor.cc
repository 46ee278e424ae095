#include "backsight/db/advisor.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <queue>
#include <set>

#include "backsight/db/hypo_planner.h"

namespace backsight::db {
namespace {

struct Candidate {
  IndexCandidate index;
  std::vector<size_t> relevant;  // statements it may serve
  int64_t bytes = 0;
  double benefit = 0;         // at the last evaluation
  std::vector<double> costs;  // per relevant statement at the last evaluation
  int evaluated_round = -1;
  bool usable = true;
};

double Mb(int64_t bytes) { return std::max(1.0, static_cast<double>(bytes)) / kBytesPerMb; }

}  // namespace

Status Advise(Connection* conn, const Catalog& catalog, const std::vector<Statement>& statements,
              const AdviseOptions& options, Advice* out) {
  const auto start = std::chrono::steady_clock::now();
  *out = Advice{};
  std::unique_ptr<HypoPlanner> planner;
  BACKSIGHT_RETURN_IF_ERROR(HypoPlanner::Start(conn, &planner));

  // Baseline costs; a statement the server cannot plan is reported and left out.
  const size_t n = statements.size();
  std::vector<double> current(n, 0);
  std::vector<bool> planned(n, false);
  out->statements.resize(n);
  for (size_t s = 0; s < n; ++s) {
    out->statements[s].statement = s;
    PlanCost pc;
    Status st = planner->Cost(statements[s], &pc);
    if (st.code() == Status::Code::kUnavailable) return st;
    if (!st.ok()) {
      out->statements[s].error = st.message();
      continue;
    }
    planned[s] = true;
    current[s] = pc.total_cost;
    out->statements[s].cost_before = pc.total_cost;
  }

  // Candidates, deduplicated across statements; relevance by (table, leading key).
  std::vector<Candidate> cands;
  std::map<std::string, size_t> by_id;
  std::map<std::string, std::set<size_t>> lead_users;  // "schema.table|key" -> statements
  for (size_t s = 0; s < n; ++s) {
    if (!planned[s]) continue;
    for (const auto& use : AnalyzeStatement(statements[s], catalog)) {
      for (auto& c : GenerateCandidates(use, catalog)) {
        lead_users[c.table->schema + "." + c.table->name + "|" + c.keys[0]].insert(s);
        const std::string id = c.Id();
        if (by_id.count(id)) continue;
        by_id[id] = cands.size();
        cands.push_back(Candidate{std::move(c), {}, 0, 0, {}, -1, true});
      }
    }
  }
  for (auto& c : cands) {
    const auto& users =
        lead_users[c.index.table->schema + "." + c.index.table->name + "|" + c.index.keys[0]];
    c.relevant.assign(users.begin(), users.end());
  }
  out->candidates = static_cast<long>(cands.size());

  // Evaluates candidate c on top of the chosen set: weighted cost saved.
  auto evaluate = [&](Candidate& c, int round) -> Status {
    int64_t oid = 0, bytes = 0;
    Status st = planner->Create(c.index, &oid, &bytes);
    if (st.code() == Status::Code::kUnavailable) return st;
    if (!st.ok()) {
      c.usable = false;
      return Status::OK();
    }
    c.bytes = bytes;
    c.costs.assign(c.relevant.size(), 0);
    double benefit = 0, relevant_cost = 0;
    for (size_t i = 0; i < c.relevant.size(); ++i) {
      const size_t s = c.relevant[i];
      PlanCost pc;
      st = planner->Cost(statements[s], &pc);
      if (!st.ok()) break;
      c.costs[i] = pc.total_cost;
      benefit += statements[s].weight * std::max(0.0, current[s] - pc.total_cost);
      relevant_cost += statements[s].weight * current[s];
    }
    Status dropped = planner->Drop(oid);
    BACKSIGHT_RETURN_IF_ERROR(st);
    BACKSIGHT_RETURN_IF_ERROR(dropped);
    c.benefit = benefit >= options.min_gain_fraction * relevant_cost ? benefit : 0;
    c.evaluated_round = round;
    return Status::OK();
  };

  // Lazy greedy by benefit per MB.
  const double budget_bytes = options.budget_mb > 0 ? options.budget_mb * kBytesPerMb : 1e300;
  using Entry = std::pair<double, size_t>;  // (score, candidate)
  std::priority_queue<Entry> heap;
  for (size_t i = 0; i < cands.size(); ++i) {
    BACKSIGHT_RETURN_IF_ERROR(evaluate(cands[i], 0));
    if (cands[i].usable && cands[i].benefit > 0) {
      heap.push({cands[i].benefit / Mb(cands[i].bytes), i});
    }
  }
  double used_bytes = 0;
  int round = 0;
  std::vector<std::pair<size_t, int64_t>> chosen;  // (candidate, hypothetical oid)
  while (!heap.empty()) {
    const size_t i = heap.top().second;
    heap.pop();
    Candidate& c = cands[i];
    if (used_bytes + c.bytes > budget_bytes) continue;
    if (c.evaluated_round != round) {
      BACKSIGHT_RETURN_IF_ERROR(evaluate(c, round));
      if (c.usable && c.benefit > 0) heap.push({c.benefit / Mb(c.bytes), i});
      continue;
    }
    int64_t oid = 0, bytes = 0;
    BACKSIGHT_RETURN_IF_ERROR(planner->Create(c.index, &oid, &bytes));
    for (size_t k = 0; k < c.relevant.size(); ++k) {
      current[c.relevant[k]] = std::min(current[c.relevant[k]], c.costs[k]);
    }
    used_bytes += c.bytes;
    chosen.push_back({i, oid});
    ++round;
  }

  // Final plans: what each statement costs and which advised index serves it.
  std::map<int64_t, int> served;
  std::vector<PlanCost> finals(n);
  for (size_t s = 0; s < n; ++s) {
    if (!planned[s]) continue;
    BACKSIGHT_RETURN_IF_ERROR(planner->Cost(statements[s], &finals[s]));
    for (int64_t oid : finals[s].hypo_oids) ++served[oid];
  }
  std::map<int64_t, std::string> sql_of;
  for (const auto& [i, oid] : chosen) {
    if (served[oid] == 0) continue;  // superseded by a later choice
    sql_of[oid] = cands[i].index.CreateSql();
    out->indexes.push_back({cands[i].index, cands[i].bytes, cands[i].benefit, served[oid]});
  }
  for (size_t s = 0; s < n; ++s) {
    if (!planned[s]) continue;
    auto& sa = out->statements[s];
    sa.cost_after = finals[s].total_cost;
    for (int64_t oid : finals[s].hypo_oids) {
      if (sql_of.count(oid)) sa.advised_used.push_back(sql_of[oid]);
    }
    out->cost_before += statements[s].weight * sa.cost_before;
    out->cost_after += statements[s].weight * sa.cost_after;
  }
  BACKSIGHT_RETURN_IF_ERROR(conn->Query("SELECT hypopg_reset()"));
  out->explain_calls = planner->explain_calls();
  out->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return Status::OK();
}

}  // namespace backsight::db
