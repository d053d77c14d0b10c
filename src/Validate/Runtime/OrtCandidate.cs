using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Runtime;
using ModelForge.Validate.Reports;
using ModelForge.Model.Tensors;

namespace ModelForge.Validate.Runtime;

/// <summary>The ONNX Runtime execution providers a converted model can be checked on.</summary>
public enum CandidateKind
{
    Cpu,
    Cuda,
    TensorRt,
}

/// <summary>
/// One ONNX Runtime session with one execution provider, opened by the ONNX Runtime host (<see cref="OrtHost"/>,
/// shared with the engine stage and the tuner): a provider that cannot run here (no CUDA, no TensorRT), or cannot run
/// this model, makes <see cref="TryCreate"/> return null with the host's reason, and the caller reports the candidate
/// as unavailable — it is never replaced by the CPU provider.
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

    /// <summary>The provider's name as ONNX Runtime spells it (<c>CPUExecutionProvider</c>, …).</summary>
    public static string ProviderOf(CandidateKind kind) => OrtProviderOf(kind).ExecutionProviderName();

    /// <summary>
    /// Opens <paramref name="onnxPath"/> with the provider. Returns null and the host's reason when the provider
    /// cannot run here (or cannot run this model); throws MF3002 when the model itself cannot be loaded.
    /// </summary>
    public static OrtCandidate? TryCreate(CandidateKind kind, string onnxPath, out string? unavailableReason, string? name = null)
    {
        var request = new OrtSessionRequest(onnxPath, OrtFailure.CannotLoad(DiagnosticCode.CandidateFailed, onnxPath))
        {
            Provider = OrtProviderOf(kind),
            // Every node on TensorRT, or the candidate says why not: no silent CPU fallback.
            SessionEntries = kind == CandidateKind.TensorRt
                ? new Dictionary<string, string> { [OrtSessionRequest.DisableCpuFallback] = "1" }
                : new Dictionary<string, string>(),
        };
        unavailableReason = null;
        switch (OrtHost.Create(request))
        {
            case OrtSessionResult.Created created:
                var described = request.Describe();
                described["onnxruntime"] = OrtHost.Version;
                return new OrtCandidate(created.Session, new CandidateInfo(name ?? NameOf(kind), ProviderOf(kind), described));
            case OrtSessionResult.Unavailable unavailable:
                unavailableReason = unavailable.Reason;
                return null;
            default:
                throw new UnreachableException();
        }
    }

    private static OrtProvider OrtProviderOf(CandidateKind kind) => kind switch
    {
        CandidateKind.Cuda => OrtProvider.Cuda,
        CandidateKind.TensorRt => OrtProvider.TensorRt,
        _ => OrtProvider.Cpu,
    };

    /// <summary>Runs the model on inputs given in the graph's input order; returns outputs in the graph's output order.</summary>
    public IReadOnlyList<HostTensor> Run(IReadOnlyList<HostTensor> inputs)
    {
        var values = inputs.Select(ToOrt).ToList();
        try
        {
            using var runOptions = new RunOptions();
            return OrtErrors.Guard(() =>
            {
                using var results = _session.Run(runOptions, _session.InputNames, values, _session.OutputNames);
                return results.Select(FromOrt).ToList();
            }, () => new OrtFailure(DiagnosticCode.CandidateFailed, $"{Info.Name} failed to run the model on inputs ({string.Join(", ", inputs)})", null,
                "check that the inputs match the ONNX model's declared inputs"));
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
