using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ModelForge.Core.Diagnostics;
using ModelForge.Engine;
using ModelForge.Model;
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
/// One ONNX Runtime session with one execution provider. GPU providers are probed first (<see cref="EngineProbe"/>,
/// shared with the engine stage): one that cannot run here (no CUDA, no TensorRT) makes <see cref="TryCreate"/>
/// return null with the probe's reason, and the caller reports the candidate as unavailable — it is never replaced
/// by the CPU provider.
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

    /// <summary>The candidate that runs an engine-stage EP-context model on TensorRT.</summary>
    public const string EngineCandidateName = "tensorrt-engine";

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
    public static OrtCandidate? TryCreate(CandidateKind kind, string onnxPath, out string? unavailableReason, string? name = null)
    {
        EngineProbe.QuietEnvironment();
        unavailableReason = null;
        if (RequirementOf(kind) is { } requirement && EngineProbe.For(requirement) is { Available: false } probe)
        {
            unavailableReason = probe.Reason;
            return null;
        }
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
        if (RequirementOf(kind) is { } required)
        {
            EngineProbe.AppendProvider(options, required, new Dictionary<string, string> { ["device_id"] = "0" });
            described["device_id"] = "0";
        }
        if (kind == CandidateKind.TensorRt)
        {
            // Every node on TensorRT, or the candidate says why not: no silent CPU fallback.
            options.AddSessionConfigEntry("session.disable_cpu_ep_fallback", "1");
            described["session.disable_cpu_ep_fallback"] = "1";
        }

        try
        {
            var session = new InferenceSession(onnxPath, options);
            return new OrtCandidate(session, new CandidateInfo(name ?? NameOf(kind), provider, described));
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

    private static bool IsProviderFailure(OnnxRuntimeException e) =>
        e.Message.Contains("provider", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("CUDA", StringComparison.Ordinal) ||
        e.Message.Contains("TensorRT", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("fallback", StringComparison.OrdinalIgnoreCase);

    private static string FirstLine(string text) => EngineProbe.FirstLine(text);

    private static EngineRequirement? RequirementOf(CandidateKind kind) => kind switch
    {
        CandidateKind.Cuda => EngineRequirement.Cuda,
        CandidateKind.TensorRt => EngineRequirement.TensorRt,
        _ => null,
    };

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
