// Umbrella header of the ingest decoders (namespace backsight::ingest):
//   remote_write.h  DecodeRemoteWrite / DecodeRemoteWriteWithMetadata / EncodeRemoteWrite
//   exposition.h    ParseExposition / WriteExposition (text 0.0.4, OpenMetrics 1.0)
//   otlp_metrics.h  DecodeOtlpMetricsProto / DecodeOtlpMetricsJson (OTLP/HTTP /v1/metrics)
//   counter_rate.h  CounterRate (counter → per-second rate with reset handling)
#ifndef BACKSIGHT_INGEST_INGEST_H_
#define BACKSIGHT_INGEST_INGEST_H_

#include "backsight/ingest/counter_rate.h"
#include "backsight/ingest/exposition.h"
#include "backsight/ingest/otlp_metrics.h"
#include "backsight/ingest/remote_write.h"

#endif  // BACKSIGHT_INGEST_INGEST_H_
