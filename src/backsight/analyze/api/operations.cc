#include "backsight/analyze/api/operations.h"

#include <utility>

namespace backsight::api {
namespace {

const Node* D(const Node* n, const OperationListOptions& o) { return o.follow_refs ? Deref(n) : n; }

}  // namespace

// The path part of a server URL ("https://h/api/v1" -> "/api/v1"), with `{var}`s replaced by
// their defaults; "" for the root.
std::string ServerPath(const Node* server) {
  if (server == nullptr) return "";
  std::string url(server->Str("url"));
  if (const Node* vars = server->Get("variables"); vars != nullptr && vars->IsMap()) {
    for (const auto& [name, v] : vars->map) {
      std::string token = "{" + name + "}";
      std::string def(v != nullptr ? v->Str("default") : "");
      for (size_t p; (p = url.find(token)) != std::string::npos;) url.replace(p, token.size(), def);
    }
  }
  if (size_t scheme = url.find("://"); scheme != std::string::npos) {
    size_t slash = url.find('/', scheme + 3);
    url = slash == std::string::npos ? "" : url.substr(slash);
  } else if (!url.empty() && url[0] != '/') {
    size_t slash = url.find('/');
    url = slash == std::string::npos ? "" : url.substr(slash);
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// "/pets/{id}/toys" -> "/pets/{}/toys", and the names in order ("id").
std::string TemplateKey(std::string_view path, std::vector<std::string>* names) {
  std::string key;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '{') {
      size_t close = path.find('}', i);
      if (close != std::string_view::npos) {
        if (names != nullptr) names->emplace_back(path.substr(i + 1, close - i - 1));
        key += "{}";
        i = close;
        continue;
      }
    }
    key.push_back(path[i]);
  }
  while (key.size() > 1 && key.back() == '/') key.pop_back();
  return key;
}

std::map<std::string, SpecOperation> ListOperations(const Node* root,
                                                    const OperationListOptions& o) {
  std::map<std::string, SpecOperation> ops;
  std::string prefix;
  const Node* servers = root->Get("servers");
  if (o.join_server_prefix && servers != nullptr && servers->IsSeq() && !servers->seq.empty()) {
    prefix = ServerPath(D(servers->seq[0], o));
  }
  const Node* paths = root->Get("paths");
  if (paths == nullptr || !paths->IsMap()) return ops;
  for (const auto& [path, item_raw] : paths->map) {
    const Node* item = D(item_raw, o);
    if (item == nullptr || !item->IsMap()) continue;
    std::string p = prefix;
    if (const Node* s = item->Get("servers");
        o.join_server_prefix && s != nullptr && s->IsSeq() && !s->seq.empty()) {
      p = ServerPath(D(s->seq[0], o));
    }
    std::string full = p + path;
    std::vector<std::string> names;
    std::string key = o.positional_path_params ? TemplateKey(full, &names) : full;
    if (!o.positional_path_params) TemplateKey(full, &names);
    for (std::string_view m : kHttpMethods) {
      const Node* op = D(item->Get(m), o);
      if (op == nullptr || !op->IsMap()) continue;
      SpecOperation e{full, names, item, op};
      ops.emplace(std::string(m) + " " + key, std::move(e));
    }
  }
  // OpenAPI 3.1 webhooks: operations the API calls, keyed apart from paths.
  if (const Node* hooks = D(root->Get("webhooks"), o); hooks != nullptr && hooks->IsMap()) {
    for (const auto& [name, item_raw] : hooks->map) {
      const Node* item = D(item_raw, o);
      if (item == nullptr || !item->IsMap()) continue;
      for (std::string_view m : kHttpMethods) {
        const Node* op = D(item->Get(m), o);
        if (op == nullptr || !op->IsMap()) continue;
        ops.emplace(std::string(m) + " webhook:" + name,
                    SpecOperation{"webhook " + name, {}, item, op});
      }
    }
  }
  return ops;
}

}  // namespace backsight::api
