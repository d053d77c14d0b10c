using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;
using ModelForge.Validate.Reports;
using ModelForge.Validate.Tensors;

namespace ModelForge.Validate.Runtime;

/// <summary>The ONNX Runtime execution providers a converted model can be checked on.</summary>
public enum CandidateKind
{
    Cpu,
    Cuda,
    TensorRt,
}

/// <summary>
/// One ONNX Runtime session with one execution provider. Creating it is also the probe: a provider whose native
/// libraries cannot load (no CUDA, no TensorRT) makes <see cref="TryCreate"/> return null with ORT's own reason,
/// and the caller reports the candidate as unavailable — it is never replaced by the CPU provider.
/// </summary>
public sealed class OrtCandidate : IDisposable
{
    private readonly InferenceSession _session;

    private OrtCandidate(InferenceSession session, CandidateInfo info)
    {
        _session = session;
        Info = info;
    }

    public CandidateInfo Info { get; }
    public IReadOnlyList<string> InputNames => _session.InputNames;
    public IReadOnlyList<string> OutputNames => _session.OutputNames;

    /// <summary>An input's element type and dims as the ONNX model declares them (null for a dim without a fixed size).</summary>
    public (DataType ElementType, long?[] Dims) InputSignature(string name)
    {
        var metadata = _session.InputMetadata[name];
        return ((DataType)(int)metadata.ElementDataType, metadata.Dimensions.Select(d => d >= 0 ? (long?)d : null).ToArray());
    }

    public static string NameOf(CandidateKind kind) => kind switch
    {
        CandidateKind.Cpu => "onnxruntime-cpu",
        CandidateKind.Cuda => "onnxruntime-cuda",
        _ => "onnxruntime-tensorrt",
    };

    public static string ProviderOf(CandidateKind kind) => kind switch
    {
        CandidateKind.Cpu => "CPUExecutionProvider",
        CandidateKind.Cuda => "CUDAExecutionProvider",
        _ => "TensorrtExecutionProvider",
    };

    /// <summary>
    /// Opens <paramref name="onnxPath"/> with the provider. Returns null and the probe's reason when the provider
    /// cannot run here; throws a diagnostic when the model itself cannot be loaded.
    /// </summary>
    public static OrtCandidate? TryCreate(CandidateKind kind, string onnxPath, out string? unavailableReason)
    {
        EnsureQuietEnvironment();
        unavailableReason = null;
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
        };
        var described = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["graph_optimization_level"] = "ORT_ENABLE_ALL",
            ["onnxruntime"] = OrtEnv.Instance().GetVersionString(),
        };
        var provider = ProviderOf(kind);
        try
        {
            switch (kind)
            {
                case CandidateKind.Cpu:
                    break;
                case CandidateKind.Cuda:
                    options.AppendExecutionProvider_CUDA(0);
                    described["device_id"] = "0";
                    break;
                default:
                    using (var trt = new OrtTensorRTProviderOptions())
                    {
                        options.AppendExecutionProvider_Tensorrt(trt);
                    }
                    described["device_id"] = "0";
                    // Every node on TensorRT, or the candidate says why not: no silent CPU fallback.
                    options.AddSessionConfigEntry("session.disable_cpu_ep_fallback", "1");
                    described["session.disable_cpu_ep_fallback"] = "1";
                    break;
            }
        }
        catch (OnnxRuntimeException e)
        {
            options.Dispose();
            unavailableReason = $"{provider} cannot be used here: {FirstLine(e.Message)}{MissingLibraryDetail(kind)}";
            return null;
        }

        try
        {
            var session = new InferenceSession(onnxPath, options);
            return new OrtCandidate(session, new CandidateInfo(NameOf(kind), provider, described));
        }
        catch (OnnxRuntimeException e) when (kind != CandidateKind.Cpu && IsProviderFailure(e))
        {
            unavailableReason = $"{provider} cannot run this model here: {FirstLine(e.Message)}";
            return null;
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelForgeException(new Diagnostic(DiagnosticCode.CandidateFailed,
                $"ONNX Runtime cannot load '{onnxPath}': {FirstLine(e.Message)}", new SourceLocation(onnxPath),
                "check that the file is the ONNX model ModelForge wrote (an interrupted or edited file fails to load)"), e);
        }
        finally
        {
            options.Dispose();
        }
    }

    private static readonly Lazy<bool> QuietEnvironment = new(() =>
    {
        // ORT logs a failed provider-library load at ERROR level on the process-wide environment before any session
        // options apply; the probe reports that reason itself, so the environment only logs fatal errors.
        // (Setting the level on the shared instance, not creating one with options: something else in the process
        // may have created it already.)
        OrtEnv.Instance().EnvLogLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
        return true;
    });

    private static void EnsureQuietEnvironment() => _ = QuietEnvironment.Value;

    /// <summary>
    /// ORT's own message only says the provider library failed to load; the dynamic loader knows which dependency
    /// is missing (libcublas.so.13, libnvinfer.so.10, …), which is what a user needs to fix it.
    /// </summary>
    private static string MissingLibraryDetail(CandidateKind kind)
    {
        var file = kind == CandidateKind.Cuda ? "libonnxruntime_providers_cuda.so" : "libonnxruntime_providers_tensorrt.so";
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

    private static bool IsProviderFailure(OnnxRuntimeException e) =>
        e.Message.Contains("provider", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("CUDA", StringComparison.Ordinal) ||
        e.Message.Contains("TensorRT", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("fallback", StringComparison.OrdinalIgnoreCase);

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();

    /// <summary>Runs the model on inputs given in the graph's input order; returns outputs in the graph's output order.</summary>
    public IReadOnlyList<HostTensor> Run(IReadOnlyList<HostTensor> inputs)
    {
        var values = inputs.Select(ToOrt).ToList();
        try
        {
            using var runOptions = new RunOptions();
            using var results = _session.Run(runOptions, _session.InputNames, values, _session.OutputNames);
            return results.Select(FromOrt).ToList();
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelForgeException(new Diagnostic(DiagnosticCode.CandidateFailed,
                $"{Info.Name} failed to run the model on inputs ({string.Join(", ", inputs)}): {FirstLine(e.Message)}", null,
                "check that the inputs match the ONNX model's declared inputs"), e);
        }
        finally
        {
            foreach (var value in values) value.Dispose();
        }
    }

    private static OrtValue ToOrt(HostTensor tensor)
    {
        var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, (TensorElementType)(int)tensor.ElementType, tensor.Shape);
        tensor.Data.CopyTo(value.GetTensorMutableRawData());
        return value;
    }

    private static HostTensor FromOrt(OrtValue value)
    {
        if (!value.IsTensor)
            throw new ModelForgeException(DiagnosticCode.CandidateFailed, $"an ONNX output is a {value.OnnxType}, not a tensor");
        var info = value.GetTensorTypeAndShape();
        return new HostTensor((DataType)(int)info.ElementDataType, info.Shape, value.GetTensorMutableRawData().ToArray());
    }

    public void Dispose() => _session.Dispose();
}
