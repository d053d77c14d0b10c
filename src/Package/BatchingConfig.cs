namespace ModelForge.Package;

public sealed record BatchingConfig(int MaxBatchSize, IReadOnlyList<int> PreferredBatchSizes, int MaxQueueDelayMicroseconds, int InstanceCount);
