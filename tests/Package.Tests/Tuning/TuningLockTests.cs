using System.Text.Json.Nodes;
using ModelForge.Convert;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Package.Triton;
using ModelForge.Package.Tuning;
using static ModelForge.Package.Tests.Tuning.TunerTestData;

namespace ModelForge.Package.Tests.Tuning;

/// <summary>
/// The recorded tuning decision: reused byte for byte while its key matches, measured again (with MF4057) when it does
/// not, refused under <see cref="TuningLockMode.Locked"/>, and never overwritten when it is not a ModelForge lock.
/// </summary>
public sealed class TuningLockTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("mf-lock-").FullName;

    private string LockPath => Path.Combine(_directory, "linear" + TuningLock.FileSuffix);

    private static TuningReport FakeReport()
    {
        var clock = new FakeClock();
        var probe = new FakeProbe(clock, (b, i) => Curve(b, i, instanceGain: 1.2)) { Jitter = (b, _, w) => b == 2 && w % 2 == 1 ? 1.3 : 1 };
        return Tune(probe, clock, TuningObjective.ThroughputWithin(400)).Report;
    }

    private static readonly TuningLockKey Key = new("sha256:00", "x:float32[batch,8]", "quick, highest throughput", "Some CPU, 2 logical cores, linux-x64", "1.0");

    [Fact]
    public void A_lock_gives_back_the_report_it_recorded_so_the_tuning_files_are_the_same_bytes()
    {
        var report = FakeReport();

        new TuningLock(Key, report).Write(LockPath);
        var read = TuningLock.Read(LockPath);

        Assert.Equal(Key, read.Key);
        Assert.Equal(TuningReportWriter.ToJson(report), TuningReportWriter.ToJson(read.Report));
        Assert.Equal(TuningReportWriter.ToSvg(report), TuningReportWriter.ToSvg(read.Report));
        Assert.Equal(report.Decision.Config.PreferredBatchSizes, read.Report.Decision.Config.PreferredBatchSizes);
    }

    [Fact]
    public void Differences_name_each_changed_part_with_what_was_recorded_and_what_it_is_now()
    {
        var now = Key with { Model = "sha256:11", Machine = "Other CPU, 16 logical cores, linux-x64" };

        Assert.Empty(Key.Differences(Key));
        Assert.Equal(["the model: sha256:00 → sha256:11", "the machine: Some CPU, 2 logical cores, linux-x64 → Other CPU, 16 logical cores, linux-x64"],
            Key.Differences(now));
    }

    [Theory]
    [InlineData("{\"format\": \"something-else/1\"}")]
    [InlineData("not json at all")]
    [InlineData("{\"format\": \"modelforge-tuning-lock/1\", \"key\": {\"model\": \"sha256:00\"}}")]
    public void A_file_that_is_not_a_complete_lock_is_MF4058_and_left_alone(string content)
    {
        File.WriteAllText(LockPath, content);

        var e = Assert.Throws<ModelForgeException>(() => TuningLock.Read(LockPath));

        Assert.Equal(DiagnosticCode.TuningLockUnreadable, e.Code);
        Assert.Equal(LockPath, e.Diagnostics[0].Location?.File);
        Assert.Equal(content, File.ReadAllText(LockPath));
    }

    /// <summary>The real path: the linear fixture converted and measured on ONNX Runtime, batch ≤ 2 to keep the grid small.</summary>
    private PackageRequest Linear()
    {
        var onnx = Path.Combine(_directory, "linear.onnx");
        var input = InputSpec.Parse("x:float32[batch,8]");
        using (var converted = ModelConverter.Convert(RepoPaths.Fixture("ops", "linear", "model.pt"), new ConvertOptions([input])))
            converted.WriteTo(onnx);
        return new PackageRequest { ModelName = "linear", OnnxPath = onnx, Inputs = [input], Batching = TuningOptions.DefaultConfig };
    }

    private PackagingTargets Targets(TuningLockMode mode) => new()
    {
        Triton = new TritonOptions(),
        Tuning = TuningLevel.Quick,
        MaxBatch = 2,
        LockPath = LockPath,
        LockMode = mode,
    };

    private PackagingResult Package(PackageRequest request, TuningLockMode mode, string output) =>
        Packager.Package(request, Targets(mode), Path.Combine(_directory, output));

    [Fact]
    public void The_first_run_records_the_decision_and_the_next_reuses_it_byte_for_byte_until_the_key_changes()
    {
        var request = Linear();

        var measured = Package(request, TuningLockMode.Reuse, "first");
        var recorded = File.ReadAllBytes(LockPath);
        var reused = Package(request, TuningLockMode.Reuse, "second");

        Assert.False(measured.ReusedLock);
        Assert.True(reused.ReusedLock);
        Assert.Equal(recorded, File.ReadAllBytes(LockPath));
        foreach (var file in new[] { "tuning/tuning.json", "tuning/tuning.svg", "triton/linear/config.pbtxt" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(_directory, "first", file)), File.ReadAllBytes(Path.Combine(_directory, "second", file)));

        // Recorded on another machine: --locked refuses and touches nothing; a normal run measures again, says why, and records.
        var lockJson = JsonNode.Parse(File.ReadAllText(LockPath))!;
        lockJson["key"]!["machine"] = "Another CPU, 64 logical cores, linux-x64";
        File.WriteAllText(LockPath, lockJson.ToJsonString());
        var elsewhere = File.ReadAllBytes(LockPath);

        var refused = Assert.Throws<ModelForgeException>(() => Package(request, TuningLockMode.Locked, "locked"));
        Assert.Equal(DiagnosticCode.TuningLockStale, refused.Code);
        Assert.Contains("the machine: Another CPU, 64 logical cores, linux-x64 → ", refused.Message);
        Assert.Equal(elsewhere, File.ReadAllBytes(LockPath));

        var remeasured = Package(request, TuningLockMode.Reuse, "third");
        Assert.False(remeasured.ReusedLock);
        var stale = Assert.Single(remeasured.Warnings);
        Assert.Equal(DiagnosticCode.TuningLockStale, stale.Code);
        Assert.Equal(DiagnosticSeverity.Warning, stale.Severity);
        Assert.NotEqual("Another CPU, 64 logical cores, linux-x64", TuningLock.Read(LockPath).Key.Machine);
        Assert.True(Package(request, TuningLockMode.Locked, "fourth").ReusedLock);
    }

    [Fact]
    public void Triton_gets_the_thread_split_of_the_cores_the_decision_was_measured_on_even_when_reused_from_the_lock()
    {
        var request = Linear();
        var measured = Package(request, TuningLockMode.Reuse, "first");
        Assert.Contains(IntraOpThreads(measured.Tuning!.Cores / measured.Batching.InstanceCount), File.ReadAllText(Path.Combine(_directory, "first", "triton", "linear", "config.pbtxt")));

        // A lock recorded with 64 cores (and otherwise this machine's key) writes 64 / instances, whatever this machine has.
        var lockJson = JsonNode.Parse(File.ReadAllText(LockPath))!;
        lockJson["report"]!["cores"] = 64;
        File.WriteAllText(LockPath, lockJson.ToJsonString());
        var reused = Package(request, TuningLockMode.Reuse, "second");
        Assert.True(reused.ReusedLock);
        Assert.Contains(IntraOpThreads(64 / reused.Batching.InstanceCount), File.ReadAllText(Path.Combine(_directory, "second", "triton", "linear", "config.pbtxt")));
    }

    private static string IntraOpThreads(int threads) => $"parameters {{ key: \"intra_op_thread_count\" value: {{ string_value: \"{Math.Max(1, threads)}\" }} }}";

    [Fact]
    public void Locked_without_a_lock_measures_nothing_and_says_how_to_make_one()
    {
        var e = Assert.Throws<ModelForgeException>(() => Package(Linear(), TuningLockMode.Locked, "out"));

        Assert.Equal(DiagnosticCode.TuningLockStale, e.Code);
        Assert.False(File.Exists(LockPath));
        Assert.False(Directory.Exists(Path.Combine(_directory, "out", "triton")));
    }

    [Fact]
    public void Retune_measures_even_when_the_lock_matches()
    {
        var request = Linear();
        Package(request, TuningLockMode.Reuse, "first");

        Assert.False(Package(request, TuningLockMode.Retune, "second").ReusedLock);
        Assert.True(Package(request, TuningLockMode.Reuse, "third").ReusedLock);
    }

    public void Dispose()
    {
        try { Directory.Delete(_directory, recursive: true); }
        catch (IOException) { /* a leftover temp folder is harmless */ }
    }
}
