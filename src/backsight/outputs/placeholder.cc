// Keeps the backsight_outputs target non-empty until its decoders land.
namespace backsight::outputs {}
