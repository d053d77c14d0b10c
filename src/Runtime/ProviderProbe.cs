using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using ModelForge.Core.Diagnostics;
using Onnx;

namespace ModelForge.Runtime;

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
public static class ProviderProbe
{
    private static readonly Lazy<ProbeResult> TensorRtResult = new(() => Run(OrtProvider.TensorRt));
    private static readonly Lazy<ProbeResult> CudaResult = new(() => Run(OrtProvider.Cuda));

    public static ProbeResult TensorRt => TensorRtResult.Value;
    public static ProbeResult Cuda => CudaResult.Value;

    /// <summary>The probe's answer for <paramref name="provider"/>; the CPU provider is always available.</summary>
    public static ProbeResult For(OrtProvider provider) => provider switch
    {
        OrtProvider.Cpu => ProbeResult.Yes,
        OrtProvider.Cuda => Cuda,
        _ => TensorRt,
    };

    private static ProbeResult Run(OrtProvider provider)
    {
        var name = provider.ExecutionProviderName();
        // Never reported: the probe counts every failure as the provider's, since the model is this one-node graph.
        var rejected = new OrtFailure(DiagnosticCode.CandidateUnavailable, $"{name} cannot run the probe model");
        var request = new OrtSessionRequest("modelforge-probe.onnx", rejected)
        {
            ModelBytes = ProbeModel.Value,
            Provider = provider,
            SessionEntries = new Dictionary<string, string> { [OrtSessionRequest.DisableCpuFallback] = "1" },
        };
        var created = OrtHost.CreateSession(request, probing: true);
        if (created is not OrtSessionResult.Created { Session: var session })
            return new ProbeResult(false, ((OrtSessionResult.Unavailable)created).Reason);
        using (session)
        {
            try
            {
                using var input = OrtValue.CreateTensorValueFromMemory(new float[] { -1, 0, 1, 2 }, [1, 4]);
                using var runOptions = new RunOptions();
                using var outputs = session.Run(runOptions, ["x"], [input], ["y"]);
                return ProbeResult.Yes;
            }
            catch (OnnxRuntimeException e)
            {
                return new ProbeResult(false, $"{name} cannot run here: {OrtErrors.FirstLine(e.Message)}");
            }
        }
    }

    /// <summary>
    /// Why a provider whose library failed to load cannot be used. When the dynamic loader names the missing
    /// dependency (libcublas.so.13, libnvinfer.so.10, …), that is what a user needs to fix it, and ORT's own message
    /// (a source path and the provider's path) adds nothing.
    /// </summary>
    internal static string CannotLoad(OrtProvider provider, string ortFirstLine)
    {
        var missing = MissingLibraryDetail(provider);
        return missing.Length > 0
            ? $"{provider.ExecutionProviderName()} cannot be used here{missing}"
            : $"{provider.ExecutionProviderName()} cannot be used here: {ortFirstLine}";
    }

    /// <summary>
    /// Why the provider's library cannot load: absent from <paramref name="directory"/> (ModelForge's own folder by
    /// default; the CPU payload leaves the GPU providers out, build/ModelForgePayload.targets), or the dependency the
    /// dynamic loader names. Empty when neither is known.
    /// </summary>
    internal static string MissingLibraryDetail(OrtProvider provider, string? directory = null)
    {
        if (provider.LibraryFile() is not { } file) return "";
        directory ??= AppContext.BaseDirectory;
        var candidates = new[] { Path.Combine(directory, file), Path.Combine(directory, "runtimes", "linux-x64", "native", file) };
        var path = candidates.FirstOrDefault(File.Exists);
        if (path is null)
            return $" ({file} is not installed next to ModelForge: this is the CPU payload, without ONNX Runtime's GPU providers;"
                + " install ModelForge.Tool.Gpu or ModelForge.Build.Gpu, or publish with -p:ModelForgeGpu=true)";
        try
        {
            NativeLibrary.Free(NativeLibrary.Load(path));
            return "";
        }
        catch (DllNotFoundException e)
        {
            var detail = e.Message.Split(':').Skip(1).FirstOrDefault(part => part.Contains(".so", StringComparison.Ordinal))?.Trim();
            return detail is null ? "" : $" ({detail} is missing)";
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
}
