namespace ModelForge.Package.Tuning.Traffic;

/// <summary>What the batcher does now: send <see cref="Size"/> queued requests as one batch, or (size 0) wait at most <see cref="WaitSeconds"/> for more.</summary>
public readonly record struct BatchDecision(int Size, double WaitSeconds);

/// <summary>
/// Triton's dynamic batcher deciding, when a model instance is free, what to send from its FIFO queue of single
/// requests (core <c>src/dynamic_batch_scheduler.cc</c>, <c>GetDynamicBatch</c>; docs/tuning.md):
/// <list type="number">
/// <item>The pending batch is the oldest requests up to the largest preferred size (no preferred sizes: Triton uses
/// <c>max_batch_size</c> as the only one).</item>
/// <item>If it reached the largest preferred size, it is sent.</item>
/// <item>If the oldest request has waited less than <c>max_queue_delay_microseconds</c> and the pending batch holds a
/// preferred size, the largest such size is sent at once.</item>
/// <item>If the oldest request has waited the delay out (always with delay 0), everything pending is sent.</item>
/// <item>Otherwise the batcher waits until the delay runs out or more requests arrive.</item>
/// </list>
/// The simulator and the benchmark's real in-process queue both call <see cref="Next"/>, so they batch alike.
/// </summary>
public sealed class DynamicBatcherPolicy
{
    private readonly HashSet<int> _preferred;

    public DynamicBatcherPolicy(int maxBatchSize, IReadOnlyList<int> preferredBatchSizes, double maxQueueDelaySeconds)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxQueueDelaySeconds);
        if (preferredBatchSizes.Any(p => p < 1 || p > maxBatchSize))
            throw new ArgumentException($"preferred batch sizes [{string.Join(", ", preferredBatchSizes)}] must lie in [1, {maxBatchSize}] (Triton's rule)", nameof(preferredBatchSizes));
        _preferred = preferredBatchSizes.Count > 0 ? [.. preferredBatchSizes] : [maxBatchSize];
        LargestPreferred = _preferred.Max();
        MaxQueueDelaySeconds = maxQueueDelaySeconds;
    }

    /// <summary>The batcher's policy for a written configuration (its queue delay is in µs).</summary>
    public static DynamicBatcherPolicy For(BatchingConfig config) =>
        new(Math.Max(1, config.MaxBatchSize), config.MaxBatchSize > 0 ? config.PreferredBatchSizes : [], config.MaxQueueDelayMicroseconds / 1e6);

    /// <summary>The batch size sent once enough requests wait: the largest preferred size.</summary>
    public int LargestPreferred { get; }

    public double MaxQueueDelaySeconds { get; }

    private const double DelayTolerance = 1e-9;

    /// <summary>The decision with <paramref name="queued"/> (≥ 1) requests waiting, the oldest for <paramref name="oldestWaitedSeconds"/>.</summary>
    public BatchDecision Next(int queued, double oldestWaitedSeconds)
    {
        var pending = Math.Min(queued, LargestPreferred);
        // To the nanosecond: a wake-up computed as arrival + delay can land a rounding error short of the delay.
        if (pending == LargestPreferred || oldestWaitedSeconds >= MaxQueueDelaySeconds - DelayTolerance)
            return new BatchDecision(pending, 0);
        for (var size = pending; size > 0; size--)
            if (_preferred.Contains(size))
                return new BatchDecision(size, 0);
        return new BatchDecision(0, MaxQueueDelaySeconds - oldestWaitedSeconds);
    }
}
