using System.Text.Json;
using System.Xml.Linq;
using ModelForge.Convert;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Package.Tuning;
using ModelForge.Package.Tuning.Traffic;

namespace ModelForge.Package.Tests.Tuning;

/// <summary>
/// The real path on ONNX Runtime's CPU provider with a tiny model and grid. It asserts structure only, never timings:
/// the machine is shared, so numbers vary from run to run.
/// </summary>
public sealed class OrtTuningSmokeTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("mf-tuner-").FullName;

    private string ConvertLinear()
    {
        var onnx = Path.Combine(_directory, "linear.onnx");
        using var converted = ModelConverter.Convert(RepoPaths.Fixture("ops", "linear", "model.pt"), new ConvertOptions([InputSpec.Parse("x:float32[batch,8]")]));
        converted.WriteTo(onnx);
        return onnx;
    }

    private static TuningOptions TinyGrid => new()
    {
        BatchSizes = [1, 2, 4],
        InstanceCounts = [1, 2],
        Cores = 2,
        Measurement = TunerTestData.Windows(warmupMs: 10, windowMs: 20, maxWindowMs: 200, minRequests: 5, maxWindows: 4),
    };

    [Fact]
    public void Open_loop_service_times_are_measured_for_each_configuration()
    {
        var options = TinyGrid with
        {
            Search = TuningSearch.Exhaustive,
            BatchSizes = [1, 4],
            OpenLoopServiceTimes = true,
            Measurement = TinyGrid.Measurement with { OpenLoopDuration = TimeSpan.FromMilliseconds(100), OpenLoopMinRequests = 30 },
        };
        var lines = new List<string>();

        var report = BatchTuner.Tune(ConvertLinear(), TuningObjective.ThroughputWithin(10_000), options, new ListProgress(lines)).Report;

        Assert.Equal(4, report.Measurements.Count);
        Assert.All(report.Measurements, m =>
        {
            var quantiles = m.ServiceTimesMilliseconds;
            Assert.NotNull(quantiles);
            Assert.Equal(ServiceTimeCurve.QuantileCount, quantiles.Count);
            Assert.True(quantiles[0] > 0, "a service time is positive");
            Assert.True(quantiles.Zip(quantiles.Skip(1)).All(p => p.First <= p.Second), "quantiles ascend");
        });
        Assert.Equal(4, lines.Count(l => l.Contains("open-loop at", StringComparison.Ordinal)));
        Assert.Contains("\"serviceTimesMilliseconds\"", TuningReportWriter.ToJson(report), StringComparison.Ordinal);
        Assert.Equal(2, ServiceTimeCurve.FromMeasurements(report.Measurements).Count);
    }

    [Fact]
    public void Without_a_traffic_profile_no_open_loop_is_measured()
    {
        var report = BatchTuner.Tune(ConvertLinear(), TuningObjective.ThroughputWithin(10_000), TinyGrid with { BatchSizes = [1], InstanceCounts = [1] }).Report;

        Assert.Null(Assert.Single(report.Measurements).ServiceTimesMilliseconds);
        Assert.DoesNotContain("serviceTimesMilliseconds", TuningReportWriter.ToJson(report), StringComparison.Ordinal);
    }

    [Fact]
    public void Inputs_are_described_from_the_model()
    {
        var input = Assert.Single(TuningInputs.Describe(ConvertLinear()));

        Assert.Equal("x:float32[batch,8]", input.ToString());
    }

    [Fact]
    public void Tunes_a_converted_model_on_the_cpu_provider()
    {
        var onnx = ConvertLinear();
        var lines = new List<string>();
        var result = BatchTuner.Tune(onnx, TuningObjective.ThroughputWithin(10_000), TinyGrid with { Search = TuningSearch.Exhaustive },
            new ListProgress(lines));

        var report = result.Report;
        Assert.Equal("linear.onnx", report.Model);
        Assert.Equal("CPUExecutionProvider", report.ExecutionProvider);
        Assert.Equal(6, report.Measurements.Count);
        Assert.All(report.Measurements, m =>
        {
            Assert.True(m.Succeeded, m.Failure);
            Assert.True(m.ThroughputPerSecond > 0);
            Assert.InRange(m.Windows.Count, 3, 4);
            Assert.All(m.Windows, w => Assert.True(w.Requests >= 1));
            Assert.Equal(m.InstanceCount == 1 ? 2 : 1, m.ThreadsPerInstance);
        });
        Assert.Contains(result.Config.MaxBatchSize, new[] { 1, 2, 4 });
        Assert.Contains(result.Config.InstanceCount, new[] { 1, 2 });
        Assert.Contains(result.Config.MaxBatchSize, result.Config.PreferredBatchSizes);
        Assert.NotEmpty(lines);

        var (json, plot) = TuningReportWriter.Write(report, Path.Combine(_directory, "report"));
        using (var document = JsonDocument.Parse(File.ReadAllText(json)))
            Assert.Equal(6, document.RootElement.GetProperty("measurements").GetArrayLength());
        XDocument.Load(plot);
    }

    [Fact]
    public void Off_reads_the_model_but_measures_nothing()
    {
        var result = BatchTuner.Tune(ConvertLinear(), new TuningObjective(), TuningOptions.For(TuningLevel.Off));

        Assert.Equal(TuningOptions.DefaultConfig, result.Config);
        Assert.Empty(result.Report.Measurements);
    }

    [Fact]
    public void A_missing_model_is_MF1001()
    {
        var e = Assert.Throws<ModelForgeException>(() => BatchTuner.Tune(Path.Combine(_directory, "none.onnx"), new TuningObjective()));

        Assert.Equal(DiagnosticCode.FileNotFound, e.Code);
    }

    [Fact]
    public void A_second_symbolic_dim_needs_a_size()
    {
        var inputs = new[] { InputSpec.Parse("ids:int64[batch,seq]") };

        var e = Assert.Throws<ModelForgeException>(() => TuningInputs.Shapes(inputs, 4, new Dictionary<string, long>()));
        Assert.Equal(DiagnosticCode.TuningInputUnresolved, e.Code);
        Assert.Equal([4L, 16L], TuningInputs.Shapes(inputs, 4, new Dictionary<string, long> { ["seq"] = 16 })[0]);
    }

    [Fact]
    public void The_batch_dim_is_dim_0_of_the_first_input_wherever_its_symbol_appears()
    {
        // Before BatchDim, each input's first symbolic dim took the batch size: seq in mask, whose batch then needed a size.
        var inputs = new[] { InputSpec.Parse("x:float32[batch,seq]"), InputSpec.Parse("mask:bool[seq,batch]") };

        var shapes = TuningInputs.Shapes(inputs, 4, new Dictionary<string, long> { ["seq"] = 16 });
        Assert.Equal([4L, 16L], shapes[0]);
        Assert.Equal([16L, 4L], shapes[1]);
    }

    [Fact]
    public void A_model_whose_first_dim_is_static_has_no_batch_dim_to_tune()
    {
        // Before BatchDim, any symbolic dim made the model batched: ids:[4,seq] was "batched" along seq.
        var off = TuningOptions.For(TuningLevel.Off);
        var none = Path.Combine(_directory, "none.onnx");

        Assert.Equal(0, BatchTuner.Tune(none, [InputSpec.Parse("ids:int64[4,seq]")], new TuningObjective(), off).Config.MaxBatchSize);
        Assert.Equal(TuningOptions.DefaultConfig, BatchTuner.Tune(none, [InputSpec.Parse("ids:int64[batch,seq]")], new TuningObjective(), off).Config);
    }

    [Fact]
    public void Generated_values_are_reproducible()
    {
        var a = new byte[64];
        var b = new byte[64];
        InputValues.Fill(a, InputSpec.Parse("x:float32[16]"), seed: 3, index: 1);
        InputValues.Fill(b, InputSpec.Parse("x:float32[16]"), seed: 3, index: 1);

        Assert.Equal(a, b);
        Assert.Contains(a, x => x != 0);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
