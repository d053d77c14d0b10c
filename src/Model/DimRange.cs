namespace ModelForge.Model;

/// <summary>The range of one symbolic dim: TensorRT profile min/opt/max, validation batch sizes, the bundles' largest batch.</summary>
public sealed record DimRange(long Min, long Opt, long Max);
