// Synthetic OTLP/JSON traces of a small shop for the incident tests (in process and against the
// real binary): frontend's GET /checkout calling cart, payment and shipping.
#ifndef BACKSIGHT_TESTS_SERVER_CHECKOUT_TRACES_H_
#define BACKSIGHT_TESTS_SERVER_CHECKOUT_TRACES_H_

#include <cstdint>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace backsight::testing {

// frontend's GET /checkout calls cart, payment and shipping in turn (CLIENT span in frontend,
// SERVER span in the callee). Returns OTLP/JSON of `traces` traces starting every `step_ns`
// from `t0`: the client stubs wait `wait_ms` around each callee's server span, which takes
// `server_ms` (cart's `cart_ms`); a few ms of deterministic jitter.
inline std::string CheckoutTraces(int64_t t0, int64_t step_ns, int traces, int first_id,
                                  double wait_ms, double server_ms, double cart_ms) {
  constexpr int64_t kMs = 1'000'000;
  std::map<std::string, nlohmann::json> spans;  // service -> spans
  auto span = [&](const std::string& service, const std::string& trace, const std::string& id,
                  const std::string& parent, const std::string& name, const char* kind,
                  int64_t start, int64_t end) {
    nlohmann::json j = {{"traceId", trace},
                        {"spanId", id},
                        {"name", name},
                        {"kind", kind},
                        {"startTimeUnixNano", std::to_string(start)},
                        {"endTimeUnixNano", std::to_string(end)}};
    if (!parent.empty()) j["parentSpanId"] = parent;
    spans[service].push_back(std::move(j));
  };
  char buf[40];
  for (int i = 0; i < traces; ++i) {
    const int n = first_id + i;
    std::snprintf(buf, sizeof(buf), "%032x", n);
    const std::string trace = buf;
    auto id = [&](int k) {
      std::snprintf(buf, sizeof(buf), "%08x%08x", n, k);
      return std::string(buf);
    };
    const int64_t start = t0 + i * step_ns;
    int64_t t = start + kMs;  // 1 ms of frontend's own work first
    const char* callees[] = {"cart", "payment", "shipping"};
    for (int c = 0; c < 3; ++c) {
      const double jitter = (n * 7 + c * 3) % 5;  // 0..4 ms
      const double srv = (c == 0 ? cart_ms : server_ms) + jitter;
      const double wait = wait_ms + (n + c) % 3;
      const int64_t client_end = t + static_cast<int64_t>((srv + wait) * kMs);
      span("frontend", trace, id(2 + 2 * c), id(1), std::string("call ") + callees[c],
           "SPAN_KIND_CLIENT", t, client_end);
      const int64_t s0 = t + static_cast<int64_t>(wait / 2 * kMs);
      span(callees[c], trace, id(3 + 2 * c), id(2 + 2 * c), std::string("GET /") + callees[c],
           "SPAN_KIND_SERVER", s0, s0 + static_cast<int64_t>(srv * kMs));
      t = client_end;
    }
    span("frontend", trace, id(1), "", "GET /checkout", "SPAN_KIND_SERVER", start, t + kMs);
  }
  nlohmann::json rs = nlohmann::json::array();
  for (auto& [service, list] : spans) {
    rs.push_back(
        {{"resource",
          {{"attributes", {{{"key", "service.name"}, {"value", {{"stringValue", service}}}}}}}},
         {"scopeSpans", {{{"spans", list}}}}});
  }
  return nlohmann::json({{"resourceSpans", rs}}).dump();
}

}  // namespace backsight::testing

#endif  // BACKSIGHT_TESTS_SERVER_CHECKOUT_TRACES_H_
