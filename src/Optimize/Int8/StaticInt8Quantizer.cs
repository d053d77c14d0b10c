using System.Diagnostics;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using Onnx;

namespace ModelForge.Optimize.Int8;

/// <summary>How a static int8 model is calibrated.</summary>
public sealed record Int8Options
{
    /// <summary>An .npz (one array per input, dim 0 the samples) or a one-input model's .npy; null: generated inputs.</summary>
    public string? CalibrationData { get; init; }

    /// <summary>How many inputs to generate when there is no <see cref="CalibrationData"/>.</summary>
    public int CalibrationSamples { get; init; } = DefaultSamples;

    public const int DefaultSamples = 64;

    public CalibrationMethod Method { get; init; } = CalibrationMethod.MinMax;

    public int Seed { get; init; }
    public IReadOnlyDictionary<string, InputRange> Ranges { get; init; } = new Dictionary<string, InputRange>();
    public IReadOnlyDictionary<string, long> DimValues { get; init; } = new Dictionary<string, long>();

    /// <summary>The integer formats; null: <see cref="QuantizationFormat.ForThisCpu"/>.</summary>
    public QuantizationFormat? Format { get; init; }

    /// <summary>Names of nodes that stay float (<see cref="QdqPlan.For"/>); a name the model lacks is MF8041.</summary>
    public IReadOnlySet<string> FloatNodes { get; init; } = new HashSet<string>();
}

/// <summary>
/// The measured activation ranges of every tensor the full plan (no node kept float) quantizes, and what they were
/// measured on. Keeping nodes float only removes tensors from the plan, so one calibration serves every variant.
/// </summary>
public sealed record Int8Calibration(IReadOnlyDictionary<string, ActivationRange> Ranges, CalibrationSet Samples, CalibrationMethod Method,
    QuantizationFormat Format, TimeSpan Time);

/// <summary>What a static int8 quantization did.</summary>
public sealed record Int8Result(int QuantizedNodes, int FloatNodes, int Activations, int Samples, string SampleSource,
    CalibrationMethod Method, QuantizationFormat Format, TimeSpan CalibrationTime);

/// <summary>
/// Static int8 (QDQ) quantization of an ONNX model: plan (<see cref="QdqPlan"/>), calibrate the planned activations on
/// the fp32 model (<see cref="Calibration"/>), compute per-tensor activation parameters (<see cref="QuantParams"/>),
/// rewrite (<see cref="QdqRewriter"/>).
/// </summary>
public static class StaticInt8Quantizer
{
    /// <summary>The first opset whose QuantizeLinear/DequantizeLinear take a per-channel axis.</summary>
    public const int MinimumOpset = 13;

    /// <summary>Quantizes <paramref name="model"/> in place; <paramref name="modelPath"/> names it in messages.</summary>
    public static Int8Result Quantize(ModelProto model, string modelPath, Int8Options options, Action<Diagnostic> warn) =>
        Apply(model, modelPath, Calibrate(model, modelPath, options, warn), options.FloatNodes);

    /// <summary>Checks <paramref name="model"/> (MF8007, MF8005) and measures the ranges of the full plan's activations; the model is not changed.</summary>
    public static Int8Calibration Calibrate(ModelProto model, string modelPath, Int8Options options, Action<Diagnostic> warn)
    {
        var location = new SourceLocation(modelPath);
        var opset = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx")?.Version ?? 0;
        if (opset < MinimumOpset)
            throw new ModelForgeException(DiagnosticCode.QuantizationOpsetTooOld,
                $"'{modelPath}' uses ONNX opset {opset}; per-channel QuantizeLinear/DequantizeLinear need opset {MinimumOpset} or newer", location,
                $"convert again with --opset {MinimumOpset} or newer (the default is newer)");
        var plan = QdqPlan.For(model.Graph);
        if (plan.QuantizedNodes.All(i => QdqPlan.PassThroughOps.Contains(model.Graph.Node[i].OpType)))
            throw new ModelForgeException(DiagnosticCode.NothingToQuantize,
                $"'{modelPath}' has no op static int8 quantizes (its ops: {string.Join(", ", model.Graph.Node.Select(n => n.OpType).Distinct().Order(StringComparer.Ordinal))})",
                location, "static int8 quantizes Conv, Gemm, MatMul with a constant 2-D weight, Add, Concat and average pooling; keep this model fp32");

        var specs = InputSpecs(model.Graph);
        var samples = options.CalibrationData is { } data
            ? CalibrationSet.FromFile(specs, data)
            : CalibrationSet.Generated(specs, options.CalibrationSamples, options.Seed, options.Ranges, options.DimValues, warn);
        var clock = Stopwatch.StartNew();
        var ranges = Calibration.Run(model, modelPath, plan.Activations, [.. specs.Select(s => s.Name)], samples, options.Method);
        return new Int8Calibration(ranges, samples, options.Method, options.Format ?? QuantizationFormat.ForThisCpu(), clock.Elapsed);
    }

    /// <summary>
    /// Rewrites <paramref name="model"/> in place to QDQ form with the ranges of <paramref name="calibration"/> (made on
    /// this model), the nodes named in <paramref name="floatNodes"/> kept float (a name the model lacks: MF8041).
    /// </summary>
    public static Int8Result Apply(ModelProto model, string modelPath, Int8Calibration calibration, IReadOnlySet<string> floatNodes)
    {
        var unknown = floatNodes.Except(model.Graph.Node.Select(n => n.Name), StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
            throw new ModelForgeException(DiagnosticCode.FloatNodeUnknown,
                $"'{modelPath}' has no node named {string.Join(", ", unknown.Select(n => $"'{n}'"))} to keep float", new SourceLocation(modelPath),
                $"name nodes as the ONNX model does (its quantizable nodes: {string.Join(", ", QuantizableNodeNames(model.Graph).Take(8))}, …)");
        var plan = QdqPlan.For(model.Graph, floatNodes);
        var groupRanges = new Dictionary<string, ActivationRange>(StringComparer.Ordinal);
        foreach (var tensor in plan.Activations)
        {
            var (range, owner) = (calibration.Ranges[tensor], plan.ScaleOwner(tensor));
            groupRanges[owner] = groupRanges.TryGetValue(owner, out var other)
                ? new ActivationRange(Math.Min(other.Min, range.Min), Math.Max(other.Max, range.Max))
                : range;
        }
        var format = calibration.Format;
        var parameters = groupRanges.ToDictionary(p => p.Key, p => QuantParams.Asymmetric(p.Value, format.ActivationLimits), StringComparer.Ordinal);
        var nodeCount = model.Graph.Node.Count - plan.FoldedRelus.Count;
        QdqRewriter.Rewrite(model.Graph, plan, parameters, format);
        return new Int8Result(plan.QuantizedNodes.Count, nodeCount - plan.QuantizedNodes.Count, plan.Activations.Count, calibration.Samples.Samples,
            calibration.Samples.Source, calibration.Method, format, calibration.Time);
    }

    /// <summary>
    /// The names of the nodes the full plan runs in int8 kernels (pass-through ops left out), in graph order: the nodes
    /// that can be kept float by name (an unnamed node cannot).
    /// </summary>
    public static IReadOnlyList<string> QuantizableNodeNames(GraphProto graph) =>
        QdqPlan.For(graph).QuantizedNodes.Select(i => graph.Node[i]).Where(n => n.Name.Length > 0 && !QdqPlan.PassThroughOps.Contains(n.OpType))
            .Select(n => n.Name).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>The model's inputs (graph inputs that are not initializers) as input specs; a dim without size or name gets one.</summary>
    public static IReadOnlyList<InputSpec> InputSpecs(GraphProto graph)
    {
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        return graph.Input.Where(i => !initializers.Contains(i.Name)).Select(input =>
        {
            var tensor = input.Type.TensorType;
            var dims = tensor.Shape?.Dim.Select((d, index) =>
                d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? Dim.Of(d.DimValue)
                : Dim.Named(d.DimParam is { Length: > 0 } name ? name : $"{input.Name}_dim{index}")).ToList() ?? [];
            return new InputSpec(input.Name, (DataType)tensor.ElemType, dims);
        }).ToList();
    }
}
