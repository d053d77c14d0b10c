using ModelForge.Core.Diagnostics;
using ModelForge.Engine;
using ModelForge.Package;
using ModelForge.Package.Tuning;
using ModelForge.Pipeline.Spec;
using ModelForge.Pipeline.Stages;
using ModelForge.Validate.Reports;
using ModelForge.Validate.Runtime;

namespace ModelForge.Pipeline.Tests;

/// <summary>The rules the build's stages share with the single-stage commands: spec section → request, and the gate's verdict.</summary>
public class StageRequestTests
{
    private static CandidateRun Run(string candidate, CandidateStatus status, int batch = 1, string? reason = null) =>
        new(new CandidateInfo(candidate, "CPUExecutionProvider", new Dictionary<string, string>()), batch, status, reason, [], TimeSpan.Zero);

    private static ValidationReport Report(params CandidateRun[] runs) =>
        new("model.pt", "model.onnx", [], [1], 0, "libtorch", TimeSpan.Zero, runs, DateTimeOffset.UnixEpoch, "test");

    [Fact]
    public void AMismatchIsTheVerdictWhateverElseHappenedAndAnUnavailableCandidateOnlyWhenNothingMismatched()
    {
        Assert.Equal(GateVerdict.Passed, AccuracyGate.Verdict(Report(Run("cpu", CandidateStatus.Passed))));
        Assert.Equal(GateVerdict.Mismatch, AccuracyGate.Verdict(Report(Run("cpu", CandidateStatus.Failed, reason: "too far"), Run("trt", CandidateStatus.Unavailable))));
        Assert.Equal(GateVerdict.Unavailable, AccuracyGate.Verdict(Report(Run("cpu", CandidateStatus.Passed), Run("trt", CandidateStatus.Unavailable))));
        Assert.Equal(GateVerdict.Mismatch, AccuracyGate.Verdict(Report()));
    }

    [Fact]
    public void EachUnavailableCandidateIsOneMF3003AndAMismatchIsMF3004WithTheFailedRuns()
    {
        var report = Report(Run("tensorrt-engine", CandidateStatus.Unavailable, 1, "no GPU"), Run("tensorrt-engine", CandidateStatus.Unavailable, 8, "no GPU"),
            Run("onnxruntime-cpu", CandidateStatus.Failed, 8, "output max abs diff 1"));

        var unavailable = Assert.Single(AccuracyGate.Unavailable(report, new SourceLocation("m.modelforge.json"), "drop it"));
        Assert.Equal("m.modelforge.json: error MF3003: tensorrt-engine was requested but cannot run here: no GPU\n    hint: drop it",
            unavailable.Format().ReplaceLineEndings("\n"));

        var mismatch = AccuracyGate.Mismatch("resnet", report, null, "loosen", DiagnosticSeverity.Warning);
        Assert.Equal((DiagnosticCode.AccuracyGateFailed, DiagnosticSeverity.Warning), (mismatch.Code, mismatch.Severity));
        Assert.Equal("accuracy gate failed for resnet: onnxruntime-cpu batch 8: output max abs diff 1", mismatch.Message);
        Assert.Equal("no candidate ran", AccuracyGate.Summary(Report()));
    }

    [Fact]
    public void NamedProvidersMustRunAndWithNoneNamedTheCpuMustAndTheOthersRunWhereTheyCan()
    {
        var (required, optional) = ValidateStage.CandidatesFor([]);
        Assert.Equal([CandidateKind.Cpu], required);
        Assert.Equal([CandidateKind.Cuda, CandidateKind.TensorRt], optional);

        (required, optional) = ValidateStage.CandidatesFor([CandidateKind.Cuda]);
        Assert.Equal([CandidateKind.Cuda], required);
        Assert.Empty(optional);
    }

    [Fact]
    public void AnEngineIsServedOnTheGpuWhateverDeviceWasAsked()
    {
        Assert.Equal(DeviceKind.Gpu, PackageStage.DeviceFor(DeviceKind.Cpu, "/bundle/engine"));
        Assert.Equal(DeviceKind.Cpu, PackageStage.DeviceFor(DeviceKind.Cpu, null));
        Assert.Equal(DeviceKind.Gpu, PackageStage.DeviceFor(DeviceKind.Gpu, null));

        var request = PackageStage.RequestFor("resnet", new PackageSpec { Version = 3 }, "model.onnx", null, [], null, "/bundle/engine");
        Assert.Equal((DeviceKind.Gpu, "/bundle/engine", 3), (request.Device, request.EngineDirectory, request.Version));
    }

    [Fact]
    public void APackageSectionGivesTheTargetsAndTheBatchCap()
    {
        var package = new PackageSpec { Tuning = TuningLevel.Full, LatencyBudgetMs = 12.5, KServeStorageUri = "s3://m" };

        var targets = PackageStage.TargetsFor(package, 16);

        Assert.Equal((TuningLevel.Full, 12.5, "s3://m", 16), (targets.Tuning, targets.Objective.P99BudgetMilliseconds, targets.KServeStorageUri, targets.MaxBatch));
        Assert.Null(targets.TorchServe);
        Assert.Null(targets.Triton);
    }

    [Fact]
    public void ATensorRtSectionGivesTheBuilderSettingsAndTheDimRangesGiveTheProfiles()
    {
        var trt = new TensorRtSpec { Precision = EnginePrecision.Fp16, WorkspaceMb = 2, BuilderLevel = 5, TimingCache = false, AllOnTensorRt = true };
        var target = EngineStage.TargetFor(trt, []);
        Assert.Equal((EnginePrecision.Fp16, 2L * 1024 * 1024, 5, false, true),
            (target.Precision, target.WorkspaceBytes, target.BuilderOptimizationLevel, target.TimingCache, target.AllOnTensorRt));
        Assert.Null(EngineStage.TargetFor(new TensorRtSpec(), []).WorkspaceBytes);

        using var workspace = new SpecWorkspace();
        var spec = workspace.Load(SpecWorkspace.ResNetSpec("\"dims\": { \"batch\": { \"min\": 1, \"opt\": 4, \"max\": 16 } }, \"tensorrt\": { \"require\": true }"));
        var request = EngineStage.RequestFor(spec, spec.TensorRt!, "model.onnx", new BuildSettings { EngineCacheRoot = "/cache", Force = true });
        var profile = Assert.Single(request.Target.Profiles);
        Assert.Equal([1L, 3, 64, 64], profile.Min);
        Assert.Equal([4L, 3, 64, 64], profile.Opt);
        Assert.Equal([16L, 3, 64, 64], profile.Max);
        Assert.Equal([EngineRequirement.TensorRt], request.Required);
        Assert.Equal(("/cache", true), (request.CacheRoot, request.Force));

        var options = ValidateStage.OptionsFor(spec, null);
        Assert.Equal([1, 4], options.BatchSizes);
    }
}
