// Keeps the backsight_ingest target non-empty until its decoders land.
namespace backsight::ingest {}
