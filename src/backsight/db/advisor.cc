#include "backsight/db/advisor.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <queue>
#include <set>

#include "backsight/db/from_order.h"
#include "backsight/db/hypo_planner.h"

namespace backsight::db {
namespace {

// One index, or a bundle of indexes that only pay together (the branches of an OR).
struct Candidate {
  std::vector<IndexCandidate> parts;
  std::vector<size_t> relevant;  // statements it may serve
  int64_t bytes = 0;
  double benefit = 0;         // at the last evaluation
  std::vector<double> costs;  // per relevant statement at the last evaluation
  int evaluated_round = -1;
  bool usable = true;
};

std::string LeadKey(const IndexCandidate& c) {
  return c.table->schema + "." + c.table->name + "|" + c.keys[0];
}

// Creates every part of `c` hypothetically; on failure the parts made are dropped again.
Status CreateAll(HypoPlanner* planner, const Candidate& c, std::vector<int64_t>* oids,
                 int64_t* bytes) {
  oids->clear();
  *bytes = 0;
  for (const auto& part : c.parts) {
    int64_t oid = 0, b = 0;
    Status st = planner->Create(part, &oid, &b);
    if (!st.ok()) {
      for (int64_t o : *oids) (void)planner->Drop(o);  // best effort: the first error matters
      return st;
    }
    oids->push_back(oid);
    *bytes += b;
  }
  return Status::OK();
}

// Seeded greedy runs besides the plain one (see Advise): each costs about a tenth of the
// stand-alone evaluation in EXPLAIN calls; 4 keeps the advice within seconds on TPC-H.
constexpr size_t kSeedCandidates = 4;

double Mb(int64_t bytes) { return std::max(1.0, static_cast<double>(bytes)) / kBytesPerMb; }

// A statement rewritten with `table` first in its FROM lists (from_order.h), to cost partial
// indexes on that table: HypoPG 1.3 plans a hypothetical partial index only there.
struct Variant {
  const TableInfo* table;
  Statement stmt;
};

// Partial candidates' tables in `c`.
void AddPartialTables(const Candidate& c, std::set<const TableInfo*>* out) {
  for (const auto& part : c.parts) {
    if (!part.predicate.empty()) out->insert(part.table);
  }
}

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
  std::vector<std::vector<Variant>> variants(n);       // per statement
  for (size_t s = 0; s < n; ++s) {
    if (!planned[s]) continue;
    for (const auto& use : AnalyzeStatement(statements[s], catalog)) {
      std::vector<std::vector<IndexCandidate>> found;
      bool partial = false;
      for (auto& c : GenerateCandidates(use, catalog)) {
        partial = partial || !c.predicate.empty();
        found.push_back({std::move(c)});
      }
      const bool seen = std::any_of(variants[s].begin(), variants[s].end(),
                                    [&](const Variant& v) { return v.table == use.table; });
      std::string text;
      Variant v{use.table, {}};
      if (partial && !seen &&
          MoveTableFirst(statements[s].text, use.table->schema, use.table->name, &text).ok() &&
          ParseStatement(text, &v.stmt).ok()) {
        v.stmt.source = statements[s].source;
        v.stmt.weight = statements[s].weight;
        variants[s].push_back(std::move(v));
      }
      for (auto& b : GenerateOrBundles(use, catalog)) found.push_back(std::move(b));
      for (auto& parts : found) {
        std::string id;
        for (const auto& c : parts) {
          lead_users[LeadKey(c)].insert(s);
          id += c.Id() + " ";
        }
        if (by_id.count(id)) continue;
        by_id[id] = cands.size();
        cands.push_back(Candidate{std::move(parts), {}, 0, 0, {}, -1, true});
      }
    }
  }
  for (auto& c : cands) {
    std::set<size_t> users;
    for (const auto& part : c.parts) {
      const auto& u = lead_users[LeadKey(part)];
      users.insert(u.begin(), u.end());
    }
    c.relevant.assign(users.begin(), users.end());
  }
  out->candidates = static_cast<long>(cands.size());

  // Cost of statement s under the current hypothetical set, where `partial_tables` have partial
  // indexes in it: the cheapest of the statement as written and its variants for those tables
  // (a real partial index is planned whatever the FROM order; the variants only undo HypoPG's).
  auto cost = [&](size_t s, const std::set<const TableInfo*>& partial_tables,
                  PlanCost* pc) -> Status {
    BACKSIGHT_RETURN_IF_ERROR(planner->Cost(statements[s], pc));
    for (const auto& v : variants[s]) {
      if (partial_tables.count(v.table) == 0) continue;
      PlanCost alt;
      Status st = planner->Cost(v.stmt, &alt);
      if (st.code() == Status::Code::kUnavailable) return st;
      if (st.ok() && alt.total_cost < pc->total_cost) *pc = std::move(alt);
    }
    return Status::OK();
  };
  std::set<const TableInfo*> chosen_partial;  // tables with a chosen partial index

  // Evaluates candidate c on top of the chosen set: weighted cost saved.
  auto evaluate = [&](Candidate& c, int round) -> Status {
    std::vector<int64_t> oids;
    int64_t bytes = 0;
    Status st = CreateAll(planner.get(), c, &oids, &bytes);
    if (st.code() == Status::Code::kUnavailable) return st;
    if (!st.ok()) {
      c.usable = false;
      return Status::OK();
    }
    c.bytes = bytes;
    c.costs.assign(c.relevant.size(), 0);
    std::set<const TableInfo*> partial_tables = chosen_partial;
    AddPartialTables(c, &partial_tables);
    double benefit = 0, relevant_cost = 0;
    for (size_t i = 0; i < c.relevant.size(); ++i) {
      const size_t s = c.relevant[i];
      PlanCost pc;
      st = cost(s, partial_tables, &pc);
      if (!st.ok()) break;
      c.costs[i] = pc.total_cost;
      benefit += statements[s].weight * std::max(0.0, current[s] - pc.total_cost);
      relevant_cost += statements[s].weight * current[s];
    }
    Status dropped;
    for (int64_t oid : oids) {
      Status d = planner->Drop(oid);
      if (dropped.ok()) dropped = d;
    }
    BACKSIGHT_RETURN_IF_ERROR(dropped);
    if (st.code() == Status::Code::kUnavailable) return st;
    if (!st.ok()) {  // the planner refused a statement with this index: leave the index out
      c.usable = false;
      return Status::OK();
    }
    c.benefit = benefit >= options.min_gain_fraction * relevant_cost ? benefit : 0;
    c.evaluated_round = round;
    return Status::OK();
  };

  // Stand-alone benefits (on the existing indexes alone): the first bound of every run.
  const double budget_bytes = options.budget_mb > 0 ? options.budget_mb * kBytesPerMb : 1e300;
  const std::vector<double> baseline = current;
  std::vector<std::pair<double, std::vector<double>>> alone(cands.size());  // (benefit, costs)
  for (size_t i = 0; i < cands.size(); ++i) {
    BACKSIGHT_RETURN_IF_ERROR(evaluate(cands[i], 0));
    alone[i] = {cands[i].benefit, cands[i].costs};
  }

  // One lazy greedy run by benefit per MB after `seeds` (candidates taken first, in order, when
  // they fit): *picked receives the candidates taken, *total the weighted workload cost they
  // leave. The hypothetical indexes it creates are dropped again.
  int round = 0;
  auto run = [&](const std::vector<size_t>& seeds, std::vector<size_t>* picked,
                 double* total) -> Status {
    picked->clear();
    current = baseline;
    chosen_partial.clear();
    const int start_round = ++round;
    using Entry = std::pair<double, size_t>;  // (score, candidate)
    std::priority_queue<Entry> heap;
    for (size_t i = 0; i < cands.size(); ++i) {
      Candidate& c = cands[i];
      if (!c.usable || alone[i].first <= 0) continue;
      if (std::find(seeds.begin(), seeds.end(), i) != seeds.end()) continue;
      c.benefit = alone[i].first;
      c.costs = alone[i].second;
      c.evaluated_round = start_round;
      heap.push({c.benefit / Mb(c.bytes), i});
    }
    double used_bytes = 0;
    std::vector<int64_t> made;
    Status st;
    size_t next_seed = 0;
    while (st.ok() && (next_seed < seeds.size() || !heap.empty())) {
      const bool seeded = next_seed < seeds.size();
      const size_t i = seeded ? seeds[next_seed++] : heap.top().second;
      if (!seeded) heap.pop();
      Candidate& c = cands[i];
      if (used_bytes + c.bytes > budget_bytes) continue;
      if (c.evaluated_round != round) {
        st = evaluate(c, round);
        if (seeded && st.ok()) {
          if (!c.usable || c.benefit <= 0) continue;  // a seed that no longer pays is left out
        } else {
          if (st.ok() && c.usable && c.benefit > 0) heap.push({c.benefit / Mb(c.bytes), i});
          continue;
        }
      }
      std::vector<int64_t> oids;
      int64_t bytes = 0;
      st = CreateAll(planner.get(), c, &oids, &bytes);
      if (!st.ok()) break;
      made.insert(made.end(), oids.begin(), oids.end());
      for (size_t k = 0; k < c.relevant.size(); ++k) {
        current[c.relevant[k]] = std::min(current[c.relevant[k]], c.costs[k]);
      }
      used_bytes += c.bytes;
      AddPartialTables(c, &chosen_partial);
      picked->push_back(i);
      ++round;
    }
    for (int64_t oid : made) {
      Status d = planner->Drop(oid);
      if (st.ok()) st = d;
    }
    *total = 0;
    for (size_t s = 0; s < n; ++s) *total += statements[s].weight * current[s];
    return st;
  };

  // Greedy by benefit per MB alone can spend the budget on small indexes and leave out one that
  // saves more than all of them: the best of that run and of runs seeded with each of the
  // kSeedCandidates largest stand-alone benefits that fit (partial enumeration with seeds of
  // size one, after Khuller, Moss & Naor 1999 and Sviridenko 2004 for budgeted selection).
  std::vector<size_t> order;
  for (size_t i = 0; i < cands.size(); ++i) {
    if (cands[i].usable && alone[i].first > 0 && cands[i].bytes <= budget_bytes) {
      order.push_back(i);
    }
  }
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return alone[a].first > alone[b].first; });
  // Without a budget every paying candidate fits: the plain run is the selection.
  const size_t seeds = options.budget_mb > 0 ? kSeedCandidates : 0;
  if (order.size() > seeds) order.resize(seeds);
  std::vector<size_t> best, picked;
  double best_total = 0, total = 0;
  BACKSIGHT_RETURN_IF_ERROR(run({}, &best, &best_total));
  for (size_t seed : order) {
    BACKSIGHT_RETURN_IF_ERROR(run({seed}, &picked, &total));
    if (total < best_total) best = picked, best_total = total;
  }

  // The best selection, created again for the final plans.
  std::vector<std::pair<size_t, std::vector<int64_t>>> chosen;  // (candidate, hypothetical oids)
  chosen_partial.clear();
  for (size_t i : best) {
    std::vector<int64_t> oids;
    int64_t bytes = 0;
    BACKSIGHT_RETURN_IF_ERROR(CreateAll(planner.get(), cands[i], &oids, &bytes));
    AddPartialTables(cands[i], &chosen_partial);
    chosen.push_back({i, std::move(oids)});
  }

  // Final plans: what each statement costs and which advised index serves it.
  std::map<int64_t, int> served;
  std::vector<PlanCost> finals(n);
  for (size_t s = 0; s < n; ++s) {
    if (!planned[s]) continue;
    BACKSIGHT_RETURN_IF_ERROR(cost(s, chosen_partial, &finals[s]));
    for (int64_t oid : finals[s].hypo_oids) ++served[oid];
  }
  std::map<int64_t, std::string> sql_of;
  for (const auto& [i, oids] : chosen) {
    for (size_t k = 0; k < oids.size(); ++k) {
      const int64_t oid = oids[k];
      if (served[oid] == 0) continue;  // superseded by a later choice
      const IndexCandidate& part = cands[i].parts[k];
      sql_of[oid] = part.CreateSql();
      int64_t bytes = 0;  // a part's own size, when the candidate is a bundle
      if (oids.size() == 1) {
        bytes = cands[i].bytes;
      } else {
        std::string size;
        BACKSIGHT_RETURN_IF_ERROR(
            conn->QueryValue("SELECT hypopg_relation_size(" + std::to_string(oid) + ")", &size));
        bytes = std::strtoll(size.c_str(), nullptr, 10);
      }
      out->indexes.push_back({part, bytes, cands[i].benefit, served[oid]});
    }
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
