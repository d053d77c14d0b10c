using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace ModelForge.Engine;

/// <summary>Whether an execution provider can run here, and if not, ORT's reason (plus the missing library).</summary>
public sealed record ProbeResult(bool Available, string? Reason)
{
    public static ProbeResult Yes { get; } = new(true, null);
}

/// <summary>
/// Decides whether the TensorRT or CUDA provider can run on this machine with a probe session: a one-node model
/// (Relu on float[1,4]) opened and run with only that provider and no CPU fallback. The provider list ORT reports
/// (<c>GetAvailableProviders</c>) is not enough: it lists what the package was compiled with, not whether TensorRT,
/// cuBLAS or a GPU can actually load (trt.md §2). Results are computed once per process.
/// </summary>
public static class EngineProbe
{
    private static readonly Lazy<ProbeResult> TensorRtResult = new(() => Run(EngineRequirement.TensorRt));
    private static readonly Lazy<ProbeResult> CudaResult = new(() => Run(EngineRequirement.Cuda));

    public static ProbeResult TensorRt => TensorRtResult.Value;
    public static ProbeResult Cuda => CudaResult.Value;

    public static ProbeResult For(EngineRequirement provider) => provider == EngineRequirement.Cuda ? Cuda : TensorRt;

    public static string ProviderName(EngineRequirement provider) =>
        provider == EngineRequirement.Cuda ? "CUDAExecutionProvider" : "TensorrtExecutionProvider";

    private static ProbeResult Run(EngineRequirement provider)
    {
        QuietEnvironment();
        var name = ProviderName(provider);
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
        try
        {
            AppendProvider(options, provider, new Dictionary<string, string> { ["device_id"] = "0" });
        }
        catch (OnnxRuntimeException e)
        {
            // When the loader names the missing library, ORT's own message (a source path and the provider's path) adds nothing.
            var missing = MissingLibraryDetail(provider);
            return new ProbeResult(false, missing.Length > 0 ? $"{name} cannot be used here{missing}" : $"{name} cannot be used here: {FirstLine(e.Message)}");
        }
        options.AddSessionConfigEntry("session.disable_cpu_ep_fallback", "1");
        try
        {
            using var session = new InferenceSession(ProbeModel.Value, options);
            using var input = OrtValue.CreateTensorValueFromMemory(new float[] { -1, 0, 1, 2 }, [1, 4]);
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, ["x"], [input], ["y"]);
            return ProbeResult.Yes;
        }
        catch (OnnxRuntimeException e)
        {
            return new ProbeResult(false, $"{name} cannot run here: {FirstLine(e.Message)}");
        }
    }

    /// <summary>Appends the provider with all of <paramref name="providerOptions"/> in one <c>UpdateOptions</c> call.</summary>
    public static void AppendProvider(SessionOptions options, EngineRequirement provider, IReadOnlyDictionary<string, string> providerOptions)
    {
        var values = providerOptions.ToDictionary(p => p.Key, p => p.Value);
        if (provider == EngineRequirement.Cuda)
        {
            using var cuda = new OrtCUDAProviderOptions();
            cuda.UpdateOptions(values);
            options.AppendExecutionProvider_CUDA(cuda);
        }
        else
        {
            // The native factory copies the options, so disposing them after appending is fine (trt.md §2).
            using var trt = new OrtTensorRTProviderOptions();
            trt.UpdateOptions(values);
            options.AppendExecutionProvider_Tensorrt(trt);
        }
    }

    private static readonly Lazy<byte[]> ProbeModel = new(() =>
    {
        var type = new TypeProto
        {
            TensorType = new TypeProto.Types.Tensor
            {
                ElemType = (int)TensorProto.Types.DataType.Float,
                Shape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dimension { DimValue = 1 }, new TensorShapeProto.Types.Dimension { DimValue = 4 } } },
            },
        };
        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "modelforge-probe",
            OpsetImport = { new OperatorSetIdProto { Domain = "", Version = 17 } },
            Graph = new GraphProto
            {
                Name = "probe",
                Node = { new NodeProto { OpType = "Relu", Input = { "x" }, Output = { "y" }, Name = "relu" } },
                Input = { new ValueInfoProto { Name = "x", Type = type } },
                Output = { new ValueInfoProto { Name = "y", Type = type.Clone() } },
            },
        };
        return model.ToByteArray();
    });

    private static readonly Lazy<bool> Quiet = new(() =>
    {
        // ORT logs a failed provider-library load at ERROR on the process-wide environment before any session
        // options apply; the probe reports the reason itself. (The level is set on the shared instance rather than
        // creating one with options: something else in the process may have created it already.)
        OrtEnv.Instance().EnvLogLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
        return true;
    });

    /// <summary>Makes ORT's process-wide environment log only fatal errors (idempotent).</summary>
    public static void QuietEnvironment() => _ = Quiet.Value;

    /// <summary>
    /// ORT only says the provider library failed to load; the dynamic loader knows which dependency is missing
    /// (libcublas.so.13, libnvinfer.so.10, …), which is what a user needs to fix it.
    /// </summary>
    internal static string MissingLibraryDetail(EngineRequirement provider)
    {
        var file = provider == EngineRequirement.Cuda ? "libonnxruntime_providers_cuda.so" : "libonnxruntime_providers_tensorrt.so";
        var candidates = new[] { Path.Combine(AppContext.BaseDirectory, file), Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", file) };
        var path = candidates.FirstOrDefault(File.Exists);
        if (path is null) return $" ({file} is not installed next to ModelForge)";
        try
        {
            System.Runtime.InteropServices.NativeLibrary.Free(System.Runtime.InteropServices.NativeLibrary.Load(path));
            return "";
        }
        catch (DllNotFoundException e)
        {
            var detail = e.Message.Split(':').Skip(1).FirstOrDefault(part => part.Contains(".so", StringComparison.Ordinal))?.Trim();
            return detail is null ? "" : $" ({detail} is missing)";
        }
    }

    public static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();
}
