using ModelForge.Core.Diagnostics;

namespace ModelForge.Package;

/// <summary>Checks every bundle writer shares: files that must exist and the batching settings.</summary>
internal static class PackageChecks
{
    public static string RequireFile(string path, string what, string hint)
    {
        if (!File.Exists(path))
            throw new ModelForgeException(DiagnosticCode.PackageFileMissing, $"{what} '{path}' does not exist", new SourceLocation(path), hint);
        return path;
    }

    /// <summary>
    /// Triton's <c>ValidateModelConfig</c> and <c>NormalizeInstanceGroup</c> rules (serving.md §2.3–2.4), which TorchServe's
    /// clamps (§1.4) also need: max batch ≥ 0, every preferred size in 1..max batch, delay ≥ 0, at least one instance
    /// (Triton would silently replace a count below 1 with its default).
    /// </summary>
    public static void Batching(BatchingConfig batching)
    {
        if (batching.MaxBatchSize < 0)
            throw Invalid($"max_batch_size {batching.MaxBatchSize} is negative: 'max_batch_size' must be non-negative",
                "use 0 to turn batching off, or the largest batch the model should see");
        foreach (var size in batching.PreferredBatchSizes)
        {
            if (size <= 0)
                throw Invalid($"preferred batch size {size}: dynamic batching preferred size must be positive",
                    "list preferred batch sizes between 1 and max_batch_size");
            if (size > batching.MaxBatchSize)
                throw Invalid($"preferred batch size {size} with max_batch_size {batching.MaxBatchSize}: dynamic batching preferred size must be <= max batch size",
                    batching.MaxBatchSize == 0 ? "a model with max_batch_size 0 does not batch: leave preferred sizes empty" : "raise max_batch_size or drop the larger preferred sizes");
        }
        if (batching.PreferredBatchSizes.Distinct().Count() != batching.PreferredBatchSizes.Count)
            throw Invalid($"preferred batch sizes [{string.Join(", ", batching.PreferredBatchSizes)}] repeat a size: each preferred batch size must be listed once",
                "list each preferred batch size once");
        if (batching.MaxQueueDelayMicroseconds < 0)
            throw Invalid($"max_queue_delay_microseconds {batching.MaxQueueDelayMicroseconds} is negative: the queue delay must be non-negative",
                "use 0 to dispatch batches without waiting");
        if (batching.InstanceCount < 1)
            throw Invalid($"instance count {batching.InstanceCount} is below 1: an instance group needs a count of at least 1 (Triton would silently use its default)",
                "use at least one instance (worker)");
    }

    private static ModelForgeException Invalid(string message, string hint) => new(DiagnosticCode.BatchingConfigInvalid, message, null, hint);
}
