namespace ModelForge.Package.Tuning.Traffic;

/// <summary>
/// What a simulation gives: each request's latency (arrival to batch completion, seconds, in arrival order), the
/// batch sizes sent, and the instances' busy share of the time from the first arrival to the last completion.
/// </summary>
public sealed record SimulationResult(double[] LatenciesSeconds, IReadOnlyList<int> Batches, double Utilisation)
{
    public double MeanBatchSize => Batches.Count == 0 ? 0 : Batches.Average();

    /// <summary>
    /// A latency percentile in ms over the requests after the first <paramref name="warmup"/> (the queue starts empty),
    /// with perf_analyzer's rule: the sorted latency at index ⌊p/100·(n−1) + 0.5⌋.
    /// </summary>
    public double PercentileMilliseconds(double percentile, int warmup = 0)
    {
        var sorted = LatenciesSeconds.Skip(warmup).Order().ToArray();
        return sorted.Length == 0 ? 0 : 1000 * sorted[(int)Math.Floor(percentile / 100 * (sorted.Length - 1) + 0.5)];
    }
}

/// <summary>
/// A discrete-event simulation of Triton's dynamic batcher: single-inference requests enter one FIFO queue at their
/// arrival times; whenever an instance is free and requests wait, <see cref="DynamicBatcherPolicy"/> decides what to send
/// (or how long to wait); a batch occupies one instance for a service time drawn from <see cref="ServiceTimeCurve"/>,
/// and every request in it completes when the batch does. Events are arrivals, batch completions and queue-delay
/// expiries; time jumps from one to the next. Seeded: the same inputs give the same latencies.
/// </summary>
public static class BatcherSimulator
{
    public static SimulationResult Run(IReadOnlyList<double> arrivals, DynamicBatcherPolicy policy, int instances, ServiceTimeCurve service, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(instances, 1);
        if (policy.LargestPreferred > service.LargestBatch)
            throw new ArgumentException($"the policy sends batches of {policy.LargestPreferred}, beyond the service times' largest batch {service.LargestBatch}", nameof(policy));
        var random = new Random(seed);
        var n = arrivals.Count;
        var latencies = new double[n];
        var batches = new List<int>();
        var freeAt = new double[instances];
        var busy = 0.0;
        var (head, admitted, now, end) = (0, 0, 0.0, 0.0);
        while (head < n)
        {
            while (admitted < n && arrivals[admitted] <= now) admitted++;
            var wakeAt = double.PositiveInfinity;
            var idle = Array.FindIndex(freeAt, t => t <= now);
            if (idle >= 0 && head < admitted)
            {
                var decision = policy.Next(admitted - head, now - arrivals[head]);
                if (decision.Size > 0)
                {
                    var serviceTime = service.Sample(decision.Size, random);
                    var done = now + serviceTime;
                    for (var k = head; k < head + decision.Size; k++) latencies[k] = done - arrivals[k];
                    head += decision.Size;
                    freeAt[idle] = done;
                    busy += serviceTime;
                    end = Math.Max(end, done);
                    batches.Add(decision.Size);
                    continue;   // another instance may be free for the rest of the queue at this same instant
                }
                wakeAt = now + decision.WaitSeconds;
            }
            var next = admitted < n ? arrivals[admitted] : double.PositiveInfinity;
            foreach (var t in freeAt)
                if (t > now) next = Math.Min(next, t);
            now = Math.Min(next, wakeAt);
        }
        var span = n == 0 ? 0 : end - arrivals[0];
        return new SimulationResult(latencies, batches, span > 0 ? busy / (instances * span) : 0);
    }
}
