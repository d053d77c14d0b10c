using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using ModelForge.Convert;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Package.Tuning;
using ModelForge.Package.Tuning.Traffic;
using static ModelForge.Package.Tests.Tuning.TunerTestData;

namespace ModelForge.Package.Tests.Tuning.Traffic;

public sealed class TrafficPlannerTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("mf-traffic-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static TuningMeasurement Measured(int batch, int instances, double ms) =>
        new(batch, instances, 1, "test", true, instances * batch / (ms / 1000), ms, ms, ms, 1, []);

    /// <summary>
    /// Deterministic service times of 10, 12, 16 and 24 ms at batch 1, 2, 4, 8 on one instance; two instances measured
    /// at batch 8 only, 20 % slower each (they share the cores). One instance saturates at 8 / 24 ms = 333 requests/s,
    /// two at 2 · 8 / 28.8 ms = 556.
    /// </summary>
    private static readonly TuningMeasurement[] Measurements =
        [Measured(1, 1, 10), Measured(2, 1, 12), Measured(4, 1, 16), Measured(8, 1, 24), Measured(8, 2, 28.8)];

    private static TrafficPlan Plan(double rate, double budgetMs, ArrivalProcess arrival = ArrivalProcess.Poisson) =>
        TrafficPlanner.Plan(Measurements, new TuningObjective(P99BudgetMilliseconds: budgetMs, Traffic: TrafficProfile.Of(rate, arrival, null)), 8, seed: 0);

    private static double Number(string text) => double.Parse(text, CultureInfo.InvariantCulture);

    [Fact]
    public void OneInstanceIsChosenWhenItMeetsTheBudget()
    {
        var plan = Plan(100, 100);

        Assert.Equal(1, plan.Chosen.InstanceCount);
        Assert.True(plan.Chosen.P99Milliseconds <= 100);
        Assert.Equal(333.3, plan.Chosen.SaturationRequestsPerSecond, 1);
        Assert.Equal(plan.Chosen.SaturationRequestsPerSecond / 100 - 1, plan.MarginToSaturation, 9);
        Assert.Equal([1, 2], plan.BestPerInstanceCount.Select(c => c.InstanceCount));
    }

    [Fact]
    public void MoreInstancesAreChosenOnlyWhenFewerCannotMeetTheBudget()
    {
        var plan = Plan(400, 100);

        Assert.Equal(2, plan.Chosen.InstanceCount);
        Assert.Equal(8, plan.Chosen.PreferredBatchSizes.Max());
        Assert.True(plan.Chosen.P99Milliseconds <= 100, $"p99 {plan.Chosen.P99Milliseconds}");
        var one = plan.BestPerInstanceCount[0];
        Assert.False(one.MeetsBudget);
        Assert.Null(one.P99Milliseconds);   // 400/s is past one instance's saturation
        Assert.Contains("fewer instances do not meet the budget (best with 1 instance: saturated)", plan.Reason);
        // Predicted utilisation at 400/s: the busy share of two instances serving batches of (mostly) 8.
        Assert.InRange(plan.Chosen.Utilisation, 0.5, 1);
    }

    [Fact]
    public void TheCurveSpansTheRatesUpToSaturationAndIncludesTheDeclaredRate()
    {
        var plan = Plan(150, 100);

        Assert.Contains(plan.Curve, p => p.RequestsPerSecond == 150);
        Assert.Equal(11, plan.Curve.Count);
        Assert.True(plan.Curve.Zip(plan.Curve.Skip(1)).All(p => p.First.RequestsPerSecond < p.Second.RequestsPerSecond));
        Assert.True(plan.Curve[^1].P99Milliseconds > plan.Curve[0].P99Milliseconds, "p99 grows towards saturation");
        Assert.True(plan.Curve[^1].Utilisation > plan.Curve[0].Utilisation);
    }

    [Fact]
    public void TheSamePlanComesOutEveryTime()
    {
        static string Json(TrafficPlan plan) => JsonSerializer.Serialize(plan, TuningReportWriter.JsonOptions);

        Assert.Equal(Json(Plan(200, 80, ArrivalProcess.Bursty)), Json(Plan(200, 80, ArrivalProcess.Bursty)));
    }

    [Fact]
    public void BurstyTrafficNeedsMoreThanPoissonTrafficAtTheSameRate()
    {
        Assert.True(Plan(200, 200, ArrivalProcess.Bursty).Chosen.P99Milliseconds > Plan(200, 200).Chosen.P99Milliseconds);
        Assert.True(Plan(200, 200).Chosen.P99Milliseconds > Plan(200, 200, ArrivalProcess.Deterministic).Chosen.P99Milliseconds);
    }

    [Fact]
    public void ABudgetBelowEveryServiceTimeSaysByHowMuchAndThatNoRateHelps()
    {
        var error = Assert.Throws<ModelForgeException>(() => Plan(50, 5));

        var diagnostic = Assert.Single(error.Diagnostics);
        Assert.Equal(DiagnosticCode.TrafficProfileUnmeetable, diagnostic.Code);
        var best = Regex.Match(diagnostic.Message, @"^no batching configuration meets p99 ≤ 5 ms at 50 requests/s, poisson: the best predicted p99 is ([0-9.]+) ms \(.*\), ([0-9.]+) ms \([0-9]+ %\) over the budget");
        Assert.True(best.Success, diagnostic.Message);
        var bestP99 = Number(best.Groups[1].Value);
        Assert.True(bestP99 >= 10, "no request is served faster than one batch of 1 (10 ms)");
        Assert.Equal(bestP99 - 5, Number(best.Groups[2].Value), 3);
        Assert.Contains("even at a low rate no configuration meets it", diagnostic.Message);
        Assert.Contains($"a p99 budget of at least {Math.Ceiling(bestP99 * 10) / 10} ms", diagnostic.Hint);
        Assert.Contains("more instances than the 2 instances measured", diagnostic.Hint);
        Assert.DoesNotContain("a rate of at most", diagnostic.Hint);
    }

    [Fact]
    public void ARatePastEverySaturationSaysTheMostAnyConfigurationSustainsAndWhichRateWould()
    {
        var error = Assert.Throws<ModelForgeException>(() => Plan(1000, 100));

        var diagnostic = Assert.Single(error.Diagnostics);
        Assert.Equal(DiagnosticCode.TrafficProfileUnmeetable, diagnostic.Code);
        Assert.Contains("every configuration saturates below it; the most any sustains is 555.6 requests/s (2 instances, max batch 8", diagnostic.Message);
        var rate = Number(Regex.Match(diagnostic.Hint!, @"a rate of at most ([0-9.]+) requests/s").Groups[1].Value);
        Assert.InRange(rate, 300, 555);
        // The rate the hint names is one the planner then accepts.
        Assert.Equal(2, Plan(rate, 100).Chosen.InstanceCount);
    }

    [Fact]
    public void AnInvalidProfileIsRefused()
    {
        Assert.Equal(DiagnosticCode.TrafficProfileInvalid, Assert.Throws<ModelForgeException>(() => Plan(0, 100)).Code);
        Assert.Equal(DiagnosticCode.TrafficProfileInvalid, Assert.Throws<ModelForgeException>(
            () => new TrafficProfile(100, ArrivalProcess.Poisson, 4).Validate(100)).Code);
        Assert.Equal(DiagnosticCode.TrafficProfileInvalid, Assert.Throws<ModelForgeException>(
            () => Options().Validated(new TuningObjective(Traffic: new TrafficProfile(100)))).Code);
    }

    [Fact]
    public void TheTunerAppliesThePlanAndReportsIt()
    {
        var clock = new FakeClock();
        var objective = new TuningObjective(P99BudgetMilliseconds: 200, Traffic: new TrafficProfile(150));

        var result = Tune(new FakeProbe(clock, (b, i) => Curve(b, i)), clock, objective);

        var plan = Assert.IsType<TrafficPlan>(result.Report.Traffic);
        Assert.Equal(TrafficPlanner.ConfigOf(plan.Chosen, batching: true), result.Config);
        Assert.Equal([TrafficPlanner.Rule], result.Report.Decision.Rules);
        Assert.Equal(plan.Chosen.P99Milliseconds, result.Report.Decision.P99Milliseconds);
        var json = JsonDocument.Parse(TuningReportWriter.ToJson(result.Report)).RootElement;
        Assert.Equal("poisson", json.GetProperty("objective").GetProperty("traffic").GetProperty("arrival").GetString());
        Assert.Equal(plan.Chosen.InstanceCount, json.GetProperty("traffic").GetProperty("chosen").GetProperty("instanceCount").GetInt32());

        var dir = Path.Combine(_directory, "report");
        TuningReportWriter.Write(result.Report, dir);
        var svg = File.ReadAllText(Path.Combine(dir, TuningReportWriter.TrafficPlotFileName));
        Assert.Contains("predicted latency and utilisation vs request rate", svg);
        Assert.Contains("declared 150 requests/s", svg);
        Assert.Equal(svg, TrafficPlot.ToSvg(result.Report));
    }

    [Fact]
    public void WithoutAProfileTheReportHasNoTrafficAndNoTrafficPlot()
    {
        var clock = new FakeClock();
        var result = Tune(new FakeProbe(clock, (b, i) => Curve(b, i)), clock, new TuningObjective(P99BudgetMilliseconds: 200));

        Assert.Null(result.Report.Traffic);
        var json = TuningReportWriter.ToJson(result.Report);
        Assert.DoesNotContain("traffic", json);
        var dir = Path.Combine(_directory, "plain");
        TuningReportWriter.Write(result.Report, dir);
        Assert.False(File.Exists(Path.Combine(dir, TuningReportWriter.TrafficPlotFileName)));
    }

    [Fact]
    public void TheTuningLockKeyCarriesTheProfileAndIsUnchangedWithoutOne()
    {
        var onnx = Path.Combine(_directory, "m.onnx");
        File.WriteAllBytes(onnx, [1, 2, 3]);
        var options = TuningOptions.For(TuningLevel.Quick);
        var plain = TuningLockKey.For(onnx, [], options, TuningObjective.ThroughputWithin(50));
        var traffic = TuningLockKey.For(onnx, [], options, new TuningObjective(P99BudgetMilliseconds: 50, Traffic: new TrafficProfile(200, ArrivalProcess.Bursty, 4)));

        Assert.Equal("quick, highest throughput with p99 ≤ 50 ms, batches [1, 2, 4, 8, 16], instances [1, 2], provider cpu", plain.Tuning);
        Assert.Equal("quick, highest throughput with p99 ≤ 50 ms at 200 requests/s, bursty (bursts of 4), batches [1, 2, 4, 8, 16], instances [1, 2], provider cpu", traffic.Tuning);
        Assert.Equal(["the tuning settings: " + plain.Tuning + " → " + traffic.Tuning], plain.Differences(traffic));
    }

    [Fact]
    public void ALockedReportWithAPlanReadsBackAsItWasWritten()
    {
        var clock = new FakeClock();
        var result = Tune(new FakeProbe(clock, (b, i) => Curve(b, i)), clock, new TuningObjective(P99BudgetMilliseconds: 200, Traffic: new TrafficProfile(150)));
        var path = Path.Combine(_directory, "m.tuning.lock.json");
        var onnx = Path.Combine(_directory, "m.onnx");
        File.WriteAllBytes(onnx, [1]);
        new TuningLock(TuningLockKey.For(onnx, [], Options(), result.Report.Objective), result.Report).Write(path);

        var read = TuningLock.Read(path).Report;

        Assert.Equal(TuningReportWriter.ToJson(result.Report), TuningReportWriter.ToJson(read));
        Assert.Equal(TrafficPlot.ToSvg(result.Report), TrafficPlot.ToSvg(read));
    }

    [Fact]
    public void AProfileWithTuningOffIsRefusedBeforeAnythingIsWritten()
    {
        var output = Path.Combine(_directory, "off");
        var request = new PackageRequest { ModelName = "m", OnnxPath = Path.Combine(_directory, "none.onnx"), Inputs = [InputSpec.Parse("x:float32[batch,8]")], Batching = TuningOptions.DefaultConfig };
        var targets = new PackagingTargets
        {
            Triton = new Triton.TritonOptions(), Tuning = TuningLevel.Off,
            Objective = new TuningObjective(P99BudgetMilliseconds: 50, Traffic: new TrafficProfile(100)),
        };

        var error = Assert.Throws<ModelForgeException>(() => Packager.Package(request, targets, output));

        Assert.Equal(DiagnosticCode.TrafficProfileInvalid, error.Code);
        Assert.Contains("tuning is off", error.Diagnostics[0].Message);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void AnUnmeetableProfileWritesNothingAndRecordsNoLock()
    {
        // The real path: a tiny model measured on ONNX Runtime; no CPU serves 10⁹ requests/s.
        var onnx = Path.Combine(_directory, "linear.onnx");
        using (var converted = ModelConverter.Convert(RepoPaths.Fixture("ops", "linear", "model.pt"), new ConvertOptions([InputSpec.Parse("x:float32[batch,8]")])))
            converted.WriteTo(onnx);
        var output = Path.Combine(_directory, "bundle");
        var lockPath = Path.Combine(_directory, "linear.tuning.lock.json");
        var request = new PackageRequest { ModelName = "linear", OnnxPath = onnx, Inputs = [InputSpec.Parse("x:float32[batch,8]")], Batching = TuningOptions.DefaultConfig };
        var targets = new PackagingTargets
        {
            Triton = new Triton.TritonOptions(), MaxBatch = 4, LockPath = lockPath,
            Objective = new TuningObjective(P99BudgetMilliseconds: 50, Traffic: new TrafficProfile(1e9)),
        };

        var error = Assert.Throws<ModelForgeException>(() => Packager.Package(request, targets, output));

        Assert.Equal(DiagnosticCode.TrafficProfileUnmeetable, error.Code);
        Assert.Contains("every configuration saturates below it; the most any sustains is", error.Diagnostics[0].Message);
        Assert.False(Directory.Exists(output));
        Assert.False(File.Exists(lockPath));
    }
}
