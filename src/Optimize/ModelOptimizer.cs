using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Optimize.Dynamic;
using ModelForge.Optimize.Fp16;
using ModelForge.Optimize.Int8;
using ModelForge.Model.Tensors;
using ModelForge.Validate.Compare;
using ModelForge.Validate.Runtime;
using Onnx;

namespace ModelForge.Optimize;

/// <summary>One ONNX model to rewrite to <paramref name="Precision"/>, written to <paramref name="OutputPath"/>.</summary>
public sealed record OptimizeRequest(string ModelPath, string OutputPath, Precision Precision)
{
    /// <summary>Static int8 settings. Its <see cref="Int8Options.CalibrationData"/> also feeds fp16's overflow check.</summary>
    public Int8Options Int8 { get; init; } = new();

    public Fp16Options Fp16 { get; init; } = new();

    public DynamicInt8Options DynamicInt8 { get; init; } = new();

    /// <summary>With static int8: run the sensitivity pass against the fp32 model's own outputs (null: off).</summary>
    public SensitivityOptions? Sensitivity { get; init; }

    /// <summary>Dim sizes for generated calibration inputs as <c>NAME=MIN/OPT/MAX</c> (the OPT size is used; the batch dim is left out).</summary>
    public IReadOnlyList<string> Dims { get; init; } = [];

    /// <summary>The <c>producer_name</c> the written model records (null: the input's is kept).</summary>
    public string? ProducerName { get; init; }

    /// <summary>
    /// Inline size in bytes above which the output's weights go to <c>OUT.onnx.data</c> (protobuf's 2 GiB limit by
    /// default; tests lower it). An input with external data gives external data out whatever its size.
    /// </summary>
    public long ExternalDataThreshold { get; init; } = OnnxModelFile.ProtobufLimit;
}

/// <summary>
/// The optimize command's sensitivity pass: evaluated on the calibration samples, the fp32 ONNX model's outputs as
/// the reference (<see cref="SensitivityPass"/>).
/// </summary>
public sealed record SensitivityOptions(QuantizationThresholds Thresholds, SensitivityBudget Budget);

/// <summary>
/// What <see cref="ModelOptimizer.Run"/> did: the precision, whether the output's weights went to <c>OUT.onnx.data</c>,
/// and the account of the rewrite that ran. A <see cref="Sensitivity"/> pass that did not pass (its
/// <see cref="SensitivityResult.Failure"/>) wrote nothing.
/// </summary>
public sealed record OptimizeSummary(Precision Precision, bool ExternalData, Int8Result? Int8 = null, Fp16Result? Fp16 = null,
    DynamicInt8Result? DynamicInt8 = null, SensitivityResult? Sensitivity = null);

/// <summary>
/// <c>modelforge optimize</c>'s work: read the model (external data mapped, not copied: <see cref="OnnxModelFile"/>),
/// rewrite it to the requested precision, write it atomically (weights back in a side file when the input kept them
/// there or the output passes <see cref="OptimizeRequest.ExternalDataThreshold"/>). Nothing is written on failure.
/// Peak memory is about one copy of the input's weights plus the rewrite's new (smaller) ones.
/// </summary>
public static class ModelOptimizer
{
    public static OptimizeSummary Run(OptimizeRequest request, Action<Diagnostic> warn)
    {
        var (model, external) = OnnxModelFile.Read(request.ModelPath);
        var summary = new OptimizeSummary(request.Precision, ExternalData: false);
        switch (request.Precision)
        {
            case Precision.Fp32:
                break;
            case Precision.Int8:
                var specs = StaticInt8Quantizer.InputSpecs(model.Graph);
                var batchDim = BatchDim.Of(specs);
                var dims = DimRange.ParseAll(request.Dims, specs).Where(d => d.Key != batchDim).ToDictionary(d => d.Key, d => d.Value.Opt);
                var int8Options = request.Int8 with { DimValues = dims };
                if (request.Sensitivity is null)
                {
                    summary = summary with { Int8 = StaticInt8Quantizer.Quantize(model, request.ModelPath, int8Options, warn) };
                    break;
                }
                var sensitivity = RunSensitivity(model, request.ModelPath, StaticInt8Quantizer.Calibrate(model, request.ModelPath, int8Options, warn), request.Sensitivity);
                summary = summary with { Int8 = sensitivity.Int8, Sensitivity = sensitivity };
                if (!sensitivity.Passed) return summary;
                model = sensitivity.Model;
                break;
            case Precision.Fp16:
                // Only real data can show an activation float16 cannot hold; generated inputs would say little.
                if (request.Int8.CalibrationData is { } data)
                    Fp16OverflowCheck.Check(model, request.Fp16, CalibrationSet.FromFile(StaticInt8Quantizer.InputSpecs(model.Graph), data).Batches());
                summary = summary with { Fp16 = Fp16Converter.Convert(model, request.Fp16) };
                model = summary.Fp16.Model;
                break;
            case Precision.Int8Dynamic:
                summary = summary with { DynamicInt8 = DynamicInt8Quantizer.Quantize(model, request.DynamicInt8) };
                model = summary.DynamicInt8.Model;
                break;
        }
        if (request.ProducerName is { } producer) model.ProducerName = producer;
        var writtenExternal = OnnxModelFile.Write(model, request.OutputPath, external, request.ExternalDataThreshold);
        return summary with { ExternalData = writtenExternal };
    }

    /// <summary>The sensitivity pass on the calibration batches, against the fp32 ONNX model's outputs on them.</summary>
    private static SensitivityResult RunSensitivity(ModelProto model, string modelPath, Int8Calibration calibration, SensitivityOptions options)
    {
        var inputs = calibration.Samples.Batches().ToList();
        List<IReadOnlyList<HostTensor>> references;
        using (var fp32 = OrtCandidate.TryCreate(CandidateKind.Cpu, modelPath, out _)!)
            references = inputs.Select(fp32.Run).ToList();
        return SensitivityPass.Run(new SensitivityRequest(model, modelPath, calibration, inputs, references, options.Thresholds) { Budget = options.Budget });
    }
}
