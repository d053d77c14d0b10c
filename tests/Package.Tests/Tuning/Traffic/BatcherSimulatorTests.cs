using ModelForge.Package.Tuning;
using ModelForge.Package.Tuning.Traffic;

namespace ModelForge.Package.Tests.Tuning.Traffic;

public sealed class BatcherSimulatorTests
{
    private static readonly DynamicBatcherPolicy OneAtATime = new(1, [], 0);

    [Theory]
    [InlineData(30.0)]
    [InlineData(50.0)]
    [InlineData(70.0)]
    public void MD1MeanWaitMatchesPollaczekKhinchine(double rate)
    {
        // M/D/1: Poisson arrivals, one server, service D = 10 ms: mean wait in the queue ρ / (2μ(1 − ρ)).
        const double service = 0.010;
        var mu = 1 / service;
        var rho = rate / mu;
        var arrivals = ArrivalTimes.Generate(new TrafficProfile(rate), 200_000, seed: 1);

        var result = BatcherSimulator.Run(arrivals, OneAtATime, 1, ServiceTimeCurve.Constant((1, service)), seed: 1);

        var meanWait = result.LatenciesSeconds.Skip(1000).Average() - service;
        var expected = rho / (2 * mu * (1 - rho));
        Assert.InRange(meanWait / expected, 0.95, 1.05);
        Assert.InRange(result.Utilisation, rho * 0.97, rho * 1.03);
        Assert.All(result.Batches, b => Assert.Equal(1, b));
    }

    [Theory]
    [InlineData(1, 50.0)]
    [InlineData(8, 95.0)]
    public void DeterministicArrivalsBelowSaturationNeverQueue(int maxBatch, double rate)
    {
        // D/D/1: a request every 1/rate s and a 10 ms service time below saturation: every latency is the service time.
        const double service = 0.010;
        var arrivals = ArrivalTimes.Generate(new TrafficProfile(rate, ArrivalProcess.Deterministic), 5_000, seed: 0);

        var result = BatcherSimulator.Run(arrivals, new DynamicBatcherPolicy(maxBatch, [], 0), 1,
            ServiceTimeCurve.Constant(new[] { 1, maxBatch }.Distinct().Select(b => (b, service)).ToArray()), seed: 0);

        Assert.All(result.LatenciesSeconds, latency => Assert.Equal(service, latency, 12));
        Assert.InRange(result.Utilisation, rate * service - 0.01, rate * service + 0.01);
    }

    [Fact]
    public void DeterministicArrivalsPastSaturationQueueWithoutBound()
    {
        var arrivals = ArrivalTimes.Generate(new TrafficProfile(120, ArrivalProcess.Deterministic), 2_000, seed: 0);

        var result = BatcherSimulator.Run(arrivals, OneAtATime, 1, ServiceTimeCurve.Constant((1, 0.010)), seed: 0);

        // Each request waits 10 ms − 1/120 s longer than the one before it.
        Assert.Equal(0.010 + 1999 * (0.010 - 1 / 120.0), result.LatenciesSeconds[^1], 9);
    }

    public static TheoryData<int[], double, int> Configurations => new()
    {
        { [1], 0, 1 },
        { [4], 0, 1 },
        { [8], 0.002, 1 },
        { [8], 0.010, 2 },
        { [2, 4, 8], 0.003, 2 },
        { [2, 8], 0.001, 3 },
        { [4, 16], 0.020, 2 },
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public void MatchesTheReferenceRequestByRequest(int[] preferred, double delay, int instances)
    {
        // Service grows with the batch (4 ms + 1.5 ms per request); the rate keeps the queue busy but below saturation.
        static double Service(int batch) => 0.004 + 0.0015 * batch;
        var largest = preferred.Max();
        var rate = 0.7 * instances * largest / Service(largest);
        var arrivals = ArrivalTimes.Generate(new TrafficProfile(rate), 20_000, seed: 7);
        var curve = ServiceTimeCurve.Constant(Enumerable.Range(1, largest).Select(b => (b, Service(b))).ToArray());

        var simulated = BatcherSimulator.Run(arrivals, new DynamicBatcherPolicy(largest, preferred, delay), instances, curve, seed: 7);
        var reference = ReferenceBatcher.Latencies(arrivals, preferred, delay, instances, Service);

        for (var k = 0; k < arrivals.Length; k++)
            Assert.True(Math.Abs(simulated.LatenciesSeconds[k] - reference[k]) < 1e-9, $"request {k}: simulated {simulated.LatenciesSeconds[k]}, reference {reference[k]}");
    }

    [Fact]
    public void AQueueDelayFillsBatchesToThePreferredSize()
    {
        // 1000 requests/s, 5 ms delay, preferred 4: a batch fills in 3 ms, long before the delay runs out.
        var arrivals = ArrivalTimes.Generate(new TrafficProfile(1000, ArrivalProcess.Deterministic), 4_000, seed: 0);

        var result = BatcherSimulator.Run(arrivals, new DynamicBatcherPolicy(8, [4], 0.005), 1, ServiceTimeCurve.Constant((1, 0.001), (4, 0.002)), seed: 0);

        Assert.All(result.Batches, b => Assert.Equal(4, b));
        Assert.Equal(0.003 + 0.002, result.LatenciesSeconds.Max(), 9);
    }

    [Fact]
    public void TheSameSeedGivesTheSameLatenciesAndAnotherSeedOthers()
    {
        var profile = new TrafficProfile(300, ArrivalProcess.Bursty, 4);
        var curve = new ServiceTimeCurve([new ServicePoint(1, 0.002, 0.0025, 0.004), new ServicePoint(8, 0.008, 0.009, 0.012)]);
        var policy = new DynamicBatcherPolicy(8, [4, 8], 0.001);
        SimulationResult Run(int seed) => BatcherSimulator.Run(ArrivalTimes.Generate(profile, 5_000, seed), policy, 2, curve, seed);

        Assert.Equal(Run(3).LatenciesSeconds, Run(3).LatenciesSeconds);
        Assert.NotEqual(Run(3).LatenciesSeconds, Run(4).LatenciesSeconds);
    }

    [Fact]
    public void ArrivalProcessesHaveTheDeclaredMeanRate()
    {
        const int count = 100_000;
        foreach (var profile in new[] { new TrafficProfile(250), new TrafficProfile(250, ArrivalProcess.Bursty, 8), new TrafficProfile(250, ArrivalProcess.Deterministic) })
        {
            var times = ArrivalTimes.Generate(profile, count, seed: 2);
            Assert.InRange(count / times[^1], 250 * 0.97, 250 * 1.03);
            Assert.True(times.Zip(times.Skip(1)).All(p => p.First <= p.Second), "arrivals ascend");
        }
        var bursts = ArrivalTimes.Generate(new TrafficProfile(250, ArrivalProcess.Bursty, 8), 800, seed: 2);
        Assert.All(bursts.Chunk(8), burst => Assert.Single(burst.Distinct()));
        Assert.Equal(100, bursts.Distinct().Count());
        Assert.Equal(4.0 / 250, ArrivalTimes.Generate(new TrafficProfile(250, ArrivalProcess.Deterministic), 4, seed: 0)[^1], 12);
    }

    [Fact]
    public void TheBatcherPolicyFollowsTritonsRules()
    {
        var policy = new DynamicBatcherPolicy(16, [4, 8], 0.002);

        Assert.Equal(new BatchDecision(8, 0), policy.Next(20, 0));          // the largest preferred size is ready
        Assert.Equal(new BatchDecision(4, 0), policy.Next(6, 0.0005));      // a preferred size fits before the delay ran out
        Assert.Equal(new BatchDecision(6, 0), policy.Next(6, 0.002));       // delay out: everything pending
        Assert.Equal(0, policy.Next(3, 0.0005).Size);                       // no preferred size yet: wait out the delay
        Assert.Equal(0.0015, policy.Next(3, 0.0005).WaitSeconds, 12);
        Assert.Equal(new BatchDecision(3, 0), new DynamicBatcherPolicy(16, [], 0).Next(3, 0));   // no delay: send at once
        Assert.Equal(16, new DynamicBatcherPolicy(16, [], 0.001).LargestPreferred);              // Triton's default preferred size
        Assert.Throws<ArgumentException>(() => new DynamicBatcherPolicy(8, [16], 0));
    }

    [Fact]
    public void ServiceTimesInterpolateBetweenMeasuredBatchSizes()
    {
        // Batch 2 has no jitter; batch 8 a mean 1/5 of the way to its p99; batch 16 a mean at its median.
        var curve = new ServiceTimeCurve([new ServicePoint(2, 0.004, 0.004, 0.004), new ServicePoint(8, 0.010, 0.012, 0.020), new ServicePoint(16, 0.020, 0.020, 0.030)]);

        Assert.Equal(new ServicePoint(2, 0.004, 0.004, 0.004), curve.At(1));   // below the smallest: its time
        Assert.Equal(0, curve.SlowShare(1));
        Assert.Equal(0.007, curve.At(5).MedianSeconds, 12);
        Assert.Equal(0.008, curve.At(5).MeanSeconds, 12);
        Assert.Equal(0.012, curve.At(5).P99Seconds, 12);
        Assert.Equal(0.2, curve.SlowShare(8), 12);
        Assert.Equal(0.012, curve.Mean(8), 12);                            // the measured mean
        Assert.Equal(0.01, curve.SlowShare(16), 12);                       // mean at the median: the p99 one time in a hundred
        Assert.Throws<ArgumentOutOfRangeException>(() => curve.At(17));

        var random = new Random(5);
        var samples = Enumerable.Range(0, 100_000).Select(_ => curve.Sample(8, random)).ToArray();
        Assert.All(samples, s => Assert.True(s == 0.010 || s == 0.020));
        Assert.InRange(samples.Average(), 0.0119, 0.0121);
        Assert.Equal(0.010, samples.Order().ElementAt(50_000));
        Assert.Equal(0.020, samples.Order().ElementAt(99_000));
    }

    [Fact]
    public void MeasurementsGiveEachInstanceCountACurveWithTheMeasuredThroughput()
    {
        TuningMeasurement Measured(int batch, int instances, double p50Ms, double throughput) =>
            new(batch, instances, 1, "test", true, throughput, p50Ms, p50Ms * 2, p50Ms, 1, []);
        var curves = ServiceTimeCurve.FromMeasurements(
        [
            Measured(1, 1, 10, 90), Measured(2, 1, 12, 150), Measured(4, 1, 16, 240),
            Measured(4, 2, 24, 300),   // two instances at batch 4 only: 1.5 × slower
            Measured(8, 1, 0, 0) with { Failure = "out of memory" },
        ]);

        Assert.Equal([1, 2], curves.Keys);
        Assert.Equal([1, 2, 4], curves[1].Points.Select(p => p.BatchSize));
        Assert.Equal(4 / 240.0, curves[1].Mean(4), 12);                     // batch ÷ throughput (Little's law)
        Assert.Equal(2 * 4 / 300.0, curves[2].Mean(4), 12);                 // measured at 2 instances
        Assert.Equal(0.015, curves[2].At(1).MedianSeconds, 12);                    // 10 ms × the slowdown 1.5
        Assert.Equal(1.5 / 90, curves[2].Mean(1), 12);
    }

    /// <summary>A shifted exponential service time, 5 ms + Exp(mean 2 ms): a floor and a long tail, as measured batches have.</summary>
    private static double[] ShiftedExponential(int count, double scale, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => scale * (0.005 - 0.002 * Math.Log(1 - random.NextDouble()))).ToArray();
    }

    [Fact]
    public void MeasuredDistributionsAreSampledByTheirQuantiles()
    {
        // Batch 1 measured as 5 ms + Exp(2 ms), batch 4 as twice that.
        var curve = new ServiceTimeCurve([
            ServicePoint.FromQuantiles(1, ServiceTimeCurve.Quantiles(ShiftedExponential(20_000, 1, seed: 1))),
            ServicePoint.FromQuantiles(4, ServiceTimeCurve.Quantiles(ShiftedExponential(20_000, 2, seed: 2))),
        ]);
        double TruePercentile(double p, double scale) => scale * (0.005 - 0.002 * Math.Log(1 - p / 100));

        var random = new Random(7);
        var drawn = Enumerable.Range(0, 200_000).Select(_ => curve.Sample(1, random)).Order().ToArray();
        foreach (var p in new[] { 10.0, 50, 90, 99 })
            Assert.InRange(drawn[(int)(p / 100 * drawn.Length)] / TruePercentile(p, 1), 0.97, 1.03);
        Assert.InRange(drawn.Average() / 0.007, 0.98, 1.02);
        Assert.InRange(curve.Mean(1) / 0.007, 0.98, 1.02);
        Assert.True(drawn[0] >= curve.At(1).QuantilesSeconds![0] && drawn[^1] <= curve.At(1).QuantilesSeconds![^1], "draws stay within the measured range");

        // Batch 2, a third of the way from 1 to 4: each quantile a third of the way.
        var expectedQuantiles = curve.At(1).QuantilesSeconds!.Zip(curve.At(4).QuantilesSeconds!, (a, b) => a + (b - a) / 3).ToArray();
        Assert.All(curve.At(2).QuantilesSeconds!.Zip(expectedQuantiles), q => Assert.Equal(q.Second, q.First, 12));
        Assert.InRange(curve.At(2).MedianSeconds / (TruePercentile(50, 1) * 4 / 3), 0.97, 1.03);
    }

    [Fact]
    public void MG1MeanWaitMatchesPollaczekKhinchineWithTheSampledDistribution()
    {
        // M/G/1 with batch 1: mean wait λ·E[S²] / (2(1 − ρ)), E[S] and E[S²] those of the distribution the curve samples.
        var curve = new ServiceTimeCurve([ServicePoint.FromQuantiles(1, ServiceTimeCurve.Quantiles(ShiftedExponential(20_000, 1, seed: 3)))]);
        var random = new Random(11);
        var service = Enumerable.Range(0, 1_000_000).Select(_ => curve.Sample(1, random)).ToArray();
        var (mean, meanSquare) = (service.Average(), service.Average(s => s * s));
        const double rate = 90;
        var arrivals = ArrivalTimes.Generate(new TrafficProfile(rate), 200_000, seed: 4);

        var result = BatcherSimulator.Run(arrivals, OneAtATime, 1, curve, seed: 5);

        var meanWait = result.LatenciesSeconds.Skip(1000).Average() - mean;
        var expected = rate * meanSquare / (2 * (1 - rate * mean));
        Assert.InRange(meanWait / expected, 0.95, 1.05);
        Assert.InRange(result.Utilisation, rate * mean * 0.97, rate * mean * 1.03);
    }

    [Fact]
    public void OpenLoopServiceTimesReplaceTheClosedLoopNumbers()
    {
        var quantiles = ServiceTimeCurve.Quantiles(ShiftedExponential(1_000, 1000, seed: 6));   // in ms
        TuningMeasurement Measured(int batch, int instances, double p50Ms, double throughput) =>
            new(batch, instances, 1, "test", true, throughput, p50Ms, p50Ms * 2, p50Ms, 1, []);
        var curves = ServiceTimeCurve.FromMeasurements(
        [
            Measured(1, 1, 3, 300) with { ServiceTimesMilliseconds = quantiles },
            Measured(2, 1, 4, 500) with { ServiceTimesMilliseconds = quantiles.Select(q => 2 * q).ToArray() },
            Measured(2, 2, 8, 500),   // no open-loop distribution: that instance count keeps the two-point fit
        ]);

        Assert.Equal(quantiles[50] / 1000, curves[1].At(1).MedianSeconds, 12);
        Assert.Equal(quantiles[99] / 1000, curves[1].At(1).P99Seconds, 12);
        Assert.Equal(ServiceTimeCurve.MeanOf(quantiles) / 1000, curves[1].Mean(1), 12);
        Assert.Equal(2 * ServiceTimeCurve.MeanOf(quantiles) / 1000, curves[1].Mean(2), 12);
        Assert.All(curves[2].Points, p => Assert.Null(p.QuantilesSeconds));
        Assert.Equal(2 * 2 / 500.0, curves[2].At(2).MeanSeconds, 12);
    }
}
