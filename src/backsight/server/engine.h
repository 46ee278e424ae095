// The engine of `backsight serve` is the generic stream engine (stream/engine.h) running the
// metric models of metric_model.h (Server::Start sets EngineOptions::model_factory). These
// aliases keep the server's names for it.
#ifndef BACKSIGHT_SERVER_ENGINE_H_
#define BACKSIGHT_SERVER_ENGINE_H_

#include "backsight/stream/engine.h"

namespace backsight::server {

using stream::Engine;
using stream::EngineOptions;
using stream::EngineStats;
using stream::EpisodeChange;
using stream::EpisodeSink;
using stream::HeldSegments;
using stream::kLatencyBuckets;
using stream::kLatencyBucketsS;
using stream::RestoreProblemFn;
using stream::SeriesSnapshot;
using stream::WallNowNs;
using stream::WalReplayResult;

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_ENGINE_H_
