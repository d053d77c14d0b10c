using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Optimize.Int8;

namespace ModelForge.Optimize;

/// <summary>One ONNX model to rewrite to <paramref name="Precision"/>, written to <paramref name="OutputPath"/>.</summary>
public sealed record OptimizeRequest(string ModelPath, string OutputPath, Precision Precision)
{
    public Int8Options Int8 { get; init; } = new();

    /// <summary>Dim sizes for generated calibration inputs as <c>NAME=MIN/OPT/MAX</c> (the OPT size is used; the batch dim is left out).</summary>
    public IReadOnlyList<string> Dims { get; init; } = [];

    /// <summary>The <c>producer_name</c> the written model records (null: the input's is kept).</summary>
    public string? ProducerName { get; init; }
}

/// <summary>What <see cref="ModelOptimizer.Run"/> did: the precision, and for int8 the quantizer's account.</summary>
public sealed record OptimizeSummary(Precision Precision, bool ExternalData, Int8Result? Int8);

/// <summary>
/// <c>modelforge optimize</c>'s work: read the model (external data included), rewrite it to the requested precision,
/// write it atomically (weights back in a side file when the input kept them there). Nothing is written on failure.
/// </summary>
public static class ModelOptimizer
{
    public static OptimizeSummary Run(OptimizeRequest request, Action<Diagnostic> warn)
    {
        var (model, external) = OnnxModelFile.Read(request.ModelPath);
        Int8Result? int8 = null;
        switch (request.Precision)
        {
            case Precision.Fp32:
                break;
            case Precision.Int8:
                var specs = StaticInt8Quantizer.InputSpecs(model.Graph);
                var batchDim = BatchDim.Of(specs);
                var dims = DimRange.ParseAll(request.Dims, specs).Where(d => d.Key != batchDim).ToDictionary(d => d.Key, d => d.Value.Opt);
                int8 = StaticInt8Quantizer.Quantize(model, request.ModelPath, request.Int8 with { DimValues = dims }, warn);
                break;
            default:
                throw new NotSupportedException($"precision {request.Precision.Name()} is written by its own rewrite, not by ModelOptimizer yet");
        }
        if (request.ProducerName is { } producer) model.ProducerName = producer;
        OnnxModelFile.Write(model, request.OutputPath, external);
        return new OptimizeSummary(request.Precision, external, int8);
    }
}
