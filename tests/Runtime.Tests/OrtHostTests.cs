using Microsoft.ML.OnnxRuntime;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Runtime.Tests;

/// <summary>A [Fact] about a provider that cannot run: it runs where the probe fails (CI, this machine) and is skipped where it succeeds.</summary>
public sealed class ProviderMissingFactAttribute : FactAttribute
{
    public ProviderMissingFactAttribute(OrtProvider provider)
    {
        if (ProviderProbe.For(provider).Available) Skip = $"{provider.ExecutionProviderName()} runs here, so the unavailable path cannot be exercised";
    }
}

/// <summary>The ONNX Runtime host on its own: sessions, unavailable providers, rejected models, run errors.</summary>
public sealed class OrtHostTests : IDisposable
{
    // tests/Ops.Tests/Infrastructure/TestData/make_tiny_models.py: y = relu(x @ W^T + b), argmax(y, 1), y > 0; x is float[batch, 3].
    private static string TinyModel => Path.Combine(RepoPaths.Root, "tests", "Ops.Tests", "Infrastructure", "TestData", "tiny_linear.onnx");

    private readonly string _directory = Directory.CreateTempSubdirectory("modelforge-ort-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static OrtSessionRequest Request(string path, OrtProvider provider = OrtProvider.Cpu) =>
        new(path, OrtFailure.CannotLoad(DiagnosticCode.CandidateFailed, path)) { Provider = provider };

    private string Corrupt()
    {
        var path = Path.Combine(_directory, "corrupt.onnx");
        var bytes = File.ReadAllBytes(TinyModel);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 3)].Concat(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF }).ToArray());
        return path;
    }

    [Fact]
    public void A_cpu_request_creates_a_session_on_the_model()
    {
        var result = OrtHost.Create(Request(TinyModel) with { IntraOpThreads = 1, InterOpThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL });

        var created = Assert.IsType<OrtSessionResult.Created>(result);
        using var session = created.Session;
        Assert.Equal(["x"], session.InputNames);
        Assert.Equal(["y", "argmax", "positive"], session.OutputNames);
    }

    [Fact]
    public void Open_returns_the_session_and_it_runs()
    {
        using var session = OrtHost.Open(Request(TinyModel) with { Optimization = GraphOptimizationLevel.ORT_DISABLE_ALL });
        using var input = OrtValue.CreateTensorValueFromMemory(new float[] { 0, 0, 0 }, [1, 3]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, ["x"], [input], ["y"]);
        Assert.Equal([0.5f, 0f], outputs[0].GetTensorDataAsSpan<float>().ToArray());
    }

    [Fact]
    public void The_optimized_model_is_written_where_the_request_says()
    {
        var optimized = Path.Combine(_directory, "optimized.onnx");
        using (OrtHost.Open(Request(TinyModel) with { OptimizedModelPath = optimized })) { }
        Assert.True(new FileInfo(optimized).Length > 0);
    }

    [Fact]
    public void A_corrupt_model_is_the_requests_diagnostic_naming_the_file()
    {
        var path = Corrupt();
        var error = Assert.Throws<ModelForgeException>(() => OrtHost.Create(Request(path)));

        Assert.Equal(DiagnosticCode.CandidateFailed, error.Code);
        var diagnostic = Assert.Single(error.Diagnostics);
        Assert.StartsWith($"ONNX Runtime cannot load '{path}': [ErrorCode:", diagnostic.Message);
        Assert.DoesNotContain('\n', diagnostic.Message);
        Assert.Equal(path, diagnostic.Location?.File);
        Assert.NotNull(diagnostic.Hint);
        var inner = Assert.IsType<OnnxRuntimeException>(error.InnerException);
        Assert.True(OrtErrors.IsModelFault(inner), inner.Message);
    }

    [Fact]
    public void A_missing_model_is_a_model_fault_too()
    {
        var path = Path.Combine(_directory, "missing.onnx");
        var error = Assert.Throws<ModelForgeException>(() => OrtHost.Open(new OrtSessionRequest(path, OrtFailure.CannotLoad(DiagnosticCode.TuningRunFailed, path))));

        Assert.Equal(DiagnosticCode.TuningRunFailed, error.Code);
        Assert.Contains(path, error.Message);
        Assert.True(OrtErrors.IsModelFault(Assert.IsType<OnnxRuntimeException>(error.InnerException)));
    }

    [ProviderMissingFact(OrtProvider.Cuda)]
    public void A_cuda_request_here_is_unavailable_with_the_reason()
    {
        var unavailable = Assert.IsType<OrtSessionResult.Unavailable>(OrtHost.Create(Request(TinyModel, OrtProvider.Cuda)));
        Assert.StartsWith("CUDAExecutionProvider cannot", unavailable.Reason);
        Assert.Equal(ProviderProbe.Cuda.Reason, unavailable.Reason);
    }

    [ProviderMissingFact(OrtProvider.TensorRt)]
    public void A_tensorrt_request_here_is_unavailable_with_the_reason_even_for_a_corrupt_model()
    {
        var unavailable = Assert.IsType<OrtSessionResult.Unavailable>(OrtHost.Create(Request(Corrupt(), OrtProvider.TensorRt)));
        Assert.StartsWith("TensorrtExecutionProvider cannot", unavailable.Reason);
        Assert.Matches(@"\(lib[^ ]+\.so[.0-9]* is missing\)|is not installed next to ModelForge|cannot run here", unavailable.Reason);
    }

    [ProviderMissingFact(OrtProvider.TensorRt)]
    public void Open_reports_an_unavailable_provider_as_the_requests_diagnostic()
    {
        var request = new OrtSessionRequest(TinyModel, new OrtFailure(DiagnosticCode.EngineBuildFailed, "TensorRT could not build an engine", null, "a hint"))
        {
            Provider = OrtProvider.TensorRt,
        };
        var error = Assert.Throws<ModelForgeException>(() => OrtHost.Open(request));

        Assert.Equal(DiagnosticCode.EngineBuildFailed, error.Code);
        Assert.Equal($"TensorRT could not build an engine: {ProviderProbe.TensorRt.Reason}", error.Diagnostics[0].Message);
    }

    [Theory]
    [InlineData(OrtProvider.Cuda, "libonnxruntime_providers_cuda.so")]
    [InlineData(OrtProvider.TensorRt, "libonnxruntime_providers_tensorrt.so")]
    public void A_gpu_provider_left_out_of_the_payload_says_so_and_how_to_get_it(OrtProvider provider, string library)
    {
        // The CPU payload (build/ModelForgePayload.targets) has no GPU provider libraries next to modelforge.
        var detail = ProviderProbe.MissingLibraryDetail(provider, _directory);

        Assert.StartsWith($" ({library} is not installed next to ModelForge: this is the CPU payload", detail);
        Assert.Contains("ModelForge.Tool.Gpu", detail);
        Assert.Contains("-p:ModelForgeGpu=true", detail);
        Assert.Equal("", ProviderProbe.MissingLibraryDetail(OrtProvider.Cpu, _directory));
    }

    [Fact]
    public void The_cpu_provider_is_always_available()
    {
        Assert.Same(ProviderProbe.For(OrtProvider.Cpu), ProbeResult.Yes);
        Assert.Equal("CPUExecutionProvider", OrtProvider.Cpu.ExecutionProviderName());
    }

    [Fact]
    public void Describe_lists_what_decides_the_results_and_the_gpu_providers_options_only()
    {
        var entries = new Dictionary<string, string> { [OrtSessionRequest.DisableCpuFallback] = "1" };
        Assert.Equal(new Dictionary<string, string> { ["graph_optimization_level"] = "ORT_ENABLE_ALL" }, Request(TinyModel).Describe());
        Assert.Equal(new Dictionary<string, string>
        {
            ["device_id"] = "0",
            ["graph_optimization_level"] = "ORT_ENABLE_ALL",
            [OrtSessionRequest.DisableCpuFallback] = "1",
        }, (Request(TinyModel, OrtProvider.TensorRt) with { SessionEntries = entries }).Describe());
    }
}
