namespace ModelForge.Package.Tuning.Traffic;

/// <summary>Arrival instants (seconds from 0, ascending) of a <see cref="TrafficProfile"/>, from a seeded generator.</summary>
public static class ArrivalTimes
{
    /// <summary>The first <paramref name="count"/> arrivals of <paramref name="profile"/>; the same seed gives the same times.</summary>
    public static double[] Generate(TrafficProfile profile, int count, int seed)
    {
        var random = new Random(seed);
        var times = new double[count];
        var gap = 1 / profile.RequestsPerSecond;
        var burst = profile.Arrival == ArrivalProcess.Bursty ? profile.BurstSize : 1;
        var t = 0.0;
        for (var i = 0; i < count; i += burst)
        {
            t += profile.Arrival == ArrivalProcess.Deterministic ? gap : Exponential(random, gap * burst);
            for (var k = i; k < Math.Min(count, i + burst); k++) times[k] = t;
        }
        return times;
    }

    /// <summary>An exponential variate with mean <paramref name="mean"/> (1 − U keeps the logarithm finite).</summary>
    public static double Exponential(Random random, double mean) => -mean * Math.Log(1 - random.NextDouble());
}
