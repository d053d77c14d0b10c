namespace ModelForge.Package.Tuning.Traffic;

/// <summary>
/// One simulated batcher configuration at the declared rate: predicted latency percentiles (ms), the instances' busy
/// share, the mean batch sent, and the rate at which it saturates (instances × largest preferred size ÷ that batch's mean
/// service time, the most it can serve). The latencies are null when the declared rate is at or past saturation: the
/// queue then grows without bound and was not simulated.
/// </summary>
public sealed record TrafficCandidate(
    int InstanceCount,
    int MaxBatchSize,
    IReadOnlyList<int> PreferredBatchSizes,
    int MaxQueueDelayMicroseconds,
    double? P50Milliseconds,
    double? P99Milliseconds,
    double Utilisation,
    double MeanBatchSize,
    double SaturationRequestsPerSecond,
    bool MeetsBudget);

/// <summary>The chosen configuration's predicted latency and utilisation at one request rate.</summary>
public sealed record TrafficPoint(double RequestsPerSecond, double P50Milliseconds, double P99Milliseconds, double Utilisation);

/// <summary>
/// The traffic-aware decision in the tuning report (<c>traffic</c> in tuning.json, and traffic.svg): the configuration
/// chosen, its margin to saturation (how far the rate can grow, as a fraction of the declared rate, before the
/// configuration saturates), the best configuration of every measured instance count, the chosen one's curve
/// against the request rate, and how it was simulated.
/// </summary>
public sealed record TrafficPlan(
    TrafficCandidate Chosen,
    double MarginToSaturation,
    IReadOnlyList<TrafficCandidate> BestPerInstanceCount,
    IReadOnlyList<TrafficPoint> Curve,
    int SimulatedRequests,
    int WarmupRequests,
    int Seed,
    string Reason,
    IReadOnlyList<string> Assumptions);
