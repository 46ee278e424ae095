#include "backsight/db/from_order.h"

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <algorithm>
#include <memory>
#include <vector>

namespace backsight::db {
namespace {

struct Target {
  const std::string& schema;
  const std::string& table;
};

bool Matches(const PgQuery__RangeVar* rv, const Target& t) {
  if (rv == nullptr || rv->relname == nullptr || t.table != rv->relname) return false;
  return rv->schemaname == nullptr || *rv->schemaname == '\0' || t.schema == rv->schemaname;
}

// An INNER join whose sides may be swapped without changing its columns' meaning.
bool SwappableJoin(const PgQuery__JoinExpr* j) {
  return j->jointype == PG_QUERY__JOIN_TYPE__JOIN_INNER && !j->is_natural &&
         j->n_using_clause == 0 && j->join_using_alias == nullptr && j->alias == nullptr;
}

// True when `n` (a FROM item) is or holds a LATERAL sub-query or function.
bool HasLateral(const PgQuery__Node* n) {
  if (n == nullptr) return false;
  switch (n->node_case) {
    case PG_QUERY__NODE__NODE_RANGE_SUBSELECT:
      return n->range_subselect->lateral;
    case PG_QUERY__NODE__NODE_RANGE_FUNCTION:
      return n->range_function->lateral;
    case PG_QUERY__NODE__NODE_JOIN_EXPR:
      return HasLateral(n->join_expr->larg) || HasLateral(n->join_expr->rarg);
    default:
      return false;
  }
}

// Makes the target the leftmost relation of FROM item `n` by swapping the sides of inner joins;
// true when it is leftmost (already or now). *changed is set when a swap was made.
bool MakeLeftmost(PgQuery__Node* n, const Target& t, bool* changed) {
  if (n == nullptr) return false;
  if (n->node_case == PG_QUERY__NODE__NODE_RANGE_VAR) return Matches(n->range_var, t);
  if (n->node_case != PG_QUERY__NODE__NODE_JOIN_EXPR) return false;
  PgQuery__JoinExpr* j = n->join_expr;
  if (!SwappableJoin(j)) return false;
  if (MakeLeftmost(j->larg, t, changed)) return true;
  if (!MakeLeftmost(j->rarg, t, changed)) return false;
  std::swap(j->larg, j->rarg);
  *changed = true;
  return true;
}

// Moves the first FROM item that holds the target (as its leftmost relation) to the front.
void Reorder(PgQuery__SelectStmt* s, const Target& t, bool* changed) {
  PgQuery__Node** from = s->from_clause;
  const size_t n = s->n_from_clause;
  if (std::any_of(from, from + n, [](const PgQuery__Node* f) { return HasLateral(f); })) return;
  for (size_t k = 0; k < n; ++k) {
    if (!MakeLeftmost(from[k], t, changed)) continue;
    if (k > 0) {
      std::rotate(from, from + k, from + k + 1);
      *changed = true;
    }
    return;
  }
}

// Visits every message of the tree through the protobuf-c descriptors (no list of node kinds to
// keep up to date), reordering the FROM list of each SELECT.
void Walk(ProtobufCMessage* m, const Target& t, bool* changed) {
  if (m->descriptor == &pg_query__select_stmt__descriptor) {
    Reorder(reinterpret_cast<PgQuery__SelectStmt*>(m), t, changed);
  }
  const ProtobufCMessageDescriptor* d = m->descriptor;
  char* base = reinterpret_cast<char*>(m);
  for (unsigned i = 0; i < d->n_fields; ++i) {
    const ProtobufCFieldDescriptor& f = d->fields[i];
    if (f.type != PROTOBUF_C_TYPE_MESSAGE) continue;
    if (f.label == PROTOBUF_C_LABEL_REPEATED) {
      const size_t count = *reinterpret_cast<size_t*>(base + f.quantifier_offset);
      ProtobufCMessage** items = *reinterpret_cast<ProtobufCMessage***>(base + f.offset);
      for (size_t k = 0; k < count; ++k) {
        if (items[k] != nullptr) Walk(items[k], t, changed);
      }
      continue;
    }
    if ((f.flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        *reinterpret_cast<uint32_t*>(base + f.quantifier_offset) != f.id) {
      continue;  // another member of the oneof is set
    }
    ProtobufCMessage* sub = *reinterpret_cast<ProtobufCMessage**>(base + f.offset);
    if (sub != nullptr) Walk(sub, t, changed);
  }
}

}  // namespace

Status MoveTableFirst(std::string_view sql, const std::string& schema, const std::string& table,
                      std::string* out) {
  const std::string input(sql);
  PgQueryProtobufParseResult parsed = pg_query_parse_protobuf(input.c_str());
  if (parsed.error != nullptr) {
    Status st = Status::InvalidArgument(Reason::kMalformed, parsed.error->message);
    pg_query_free_protobuf_parse_result(parsed);
    return st;
  }
  std::unique_ptr<PgQuery__ParseResult, void (*)(PgQuery__ParseResult*)> tree(
      pg_query__parse_result__unpack(nullptr, parsed.parse_tree.len,
                                     reinterpret_cast<const uint8_t*>(parsed.parse_tree.data)),
      [](PgQuery__ParseResult* r) { pg_query__parse_result__free_unpacked(r, nullptr); });
  pg_query_free_protobuf_parse_result(parsed);
  if (tree == nullptr) return Status::Internal("libpg_query protobuf tree did not unpack");
  bool changed = false;
  Walk(&tree->base, Target{schema, table}, &changed);
  if (!changed) return Status::NotFound(table + " is already first in every FROM list");
  std::vector<uint8_t> packed(pg_query__parse_result__get_packed_size(tree.get()));
  pg_query__parse_result__pack(tree.get(), packed.data());
  PgQueryDeparseResult deparsed =
      pg_query_deparse_protobuf({packed.size(), reinterpret_cast<char*>(packed.data())});
  Status st;
  if (deparsed.error != nullptr) {
    st = Status::Internal(std::string("libpg_query deparse: ") + deparsed.error->message);
  } else {
    *out = deparsed.query;
  }
  pg_query_free_deparse_result(deparsed);
  return st;
}

}  // namespace backsight::db
