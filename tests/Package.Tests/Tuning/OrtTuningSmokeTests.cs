using System.Text.Json;
using System.Xml.Linq;
using ModelForge.Convert;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Package.Tuning;

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
    public void Generated_values_are_reproducible()
    {
        var a = new byte[64];
        var b = new byte[64];
        TuningInputs.Fill(a, DataType.Float32, seed: 3, inputIndex: 1);
        TuningInputs.Fill(b, DataType.Float32, seed: 3, inputIndex: 1);

        Assert.Equal(a, b);
        Assert.Contains(a, x => x != 0);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
