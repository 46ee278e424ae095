#include "backsight/detect/detector.h"

namespace backsight::detect {

const char* RejectReasonName(RejectReason r) {
  switch (r) {
    case RejectReason::kNonFiniteValue:
      return "non_finite_value";
    case RejectReason::kDuplicateTimestamp:
      return "duplicate_timestamp";
    case RejectReason::kOutOfOrder:
      return "out_of_order_timestamp";
    case RejectReason::kCount:
      break;
  }
  return "unknown";
}

}  // namespace backsight::detect
