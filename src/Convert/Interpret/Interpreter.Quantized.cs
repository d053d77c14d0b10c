using ModelForge.Convert.IR;
using ModelForge.Convert.Ops;
using ModelForge.Convert.Ops.Handlers;
using ModelForge.Core.Diagnostics;
using ModelForge.TorchScript.Archive;
using ModelForge.TorchScript.Pickle;
using ModelForge.TorchScript.Script;

namespace ModelForge.Convert.Interpret;

// Eager-mode quantized modules: their state, their weights and the aten ops that see a quantized tensor.
public sealed partial class Interpreter
{
    private const string PackedParamsPrefix = "__torch__.torch.classes.quantized.";

    // Attributes a module's __setstate__ assigned (quantized Conv2d modules pickle a state tuple, not a dict).
    private readonly Dictionary<PickleObject, Dictionary<string, object?>> _restored = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<QuantizedTensorData, Value> _quantizedWeights = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<PickleObject, PackedParams> _packed = new(ReferenceEqualityComparer.Instance);

    /// <summary>
    /// Aten ops PyTorch runs on quantized tensors without new quantization parameters. Exact: the result's values are
    /// input values (moved, selected, clamped at the zero point), so it keeps the input's quantizer. Averaging: PyTorch
    /// rounds the result to the input's grid, so it gets a QuantizeLinear → DequantizeLinear with the input's parameters.
    /// </summary>
    private static readonly HashSet<string> QuantizedExactOps = new(StringComparer.Ordinal)
    {
        "aten::flatten", "aten::view", "aten::reshape", "aten::permute", "aten::transpose", "aten::contiguous", "aten::squeeze",
        "aten::unsqueeze", "aten::relu", "aten::relu_", "aten::max_pool2d", "aten::max_pool1d", "aten::adaptive_max_pool2d",
        "aten::dropout", "aten::dropout_", "aten::select", "aten::slice", "aten::chunk", "aten::split", "aten::clone",
        "aten::detach", "aten::size", "aten::upsample_nearest2d", "aten::pixel_shuffle", "aten::channel_shuffle", "aten::expand",
    };

    private static readonly HashSet<string> QuantizedAveragingOps = new(StringComparer.Ordinal)
    {
        "aten::avg_pool2d", "aten::adaptive_avg_pool2d", "aten::mean", "aten::upsample_bilinear2d",
    };

    /// <summary>
    /// Carries the quantizer of an aten op's quantized input over to its result (<see cref="QuantizedExactOps"/>,
    /// <see cref="QuantizedAveragingOps"/>); any other aten op on a quantized tensor is refused (MF1013), since PyTorch
    /// would run a quantized kernel ModelForge does not model.
    /// </summary>
    private object? CarryQuantization(OpContext context, IReadOnlyList<object?> args, object? result)
    {
        var op = context.OpName;
        if (!op.StartsWith("aten::", StringComparison.Ordinal) || op is "aten::dequantize" or "aten::q_scale" or "aten::q_zero_point") return result;
        var quantization = args.SelectMany(a => a is List<object?> list ? list : [a]).OfType<Value>().Select(v => Resolve(v).Quantized).FirstOrDefault(q => q is not null);
        if (quantization is null) return result;
        if (QuantizedAveragingOps.Contains(op) && result is Value averaged)
            return Qdq.Requantize(context, averaged, quantization.Scales[0], quantization.ZeroPoints[0], quantization.IntegerType);
        if (!QuantizedExactOps.Contains(op))
            throw context.Error(DiagnosticCode.UnsupportedDtype,
                $"{op} on a quantized tensor is not supported: ModelForge lowers quantized::* ops and, on quantized tensors, " +
                $"{string.Join(", ", QuantizedExactOps.Concat(QuantizedAveragingOps).Where(o => !o.EndsWith('_')).Select(o => o[6..]).Order(StringComparer.Ordinal))}",
                "dequantize before this op (DeQuantStub) and quantize after it, or keep its module in float (qconfig None)");
        foreach (var value in result is List<object?> outputs ? outputs.OfType<Value>() : result is Value single ? [single] : [])
            value.Quantized ??= quantization;
        return result;
    }

    /// <summary>
    /// The attributes of a module pickled as a <c>__getstate__</c> tuple (quantized Conv2d/ConvReLU2d): its
    /// <c>__setstate__</c> interpreted like any other method, <c>self.x = …</c> recorded, prepack calls giving <see cref="PackedParams"/>.
    /// </summary>
    private Dictionary<string, object?>? RestoredAttributes(ModuleValue module)
    {
        if (_restored.TryGetValue(module.Object, out var attributes)) return attributes;
        if (module.Object.State is null or PickleDict || module.Class.Methods.FirstOrDefault(m => m.Name == "__setstate__") is not { } setState) return null;
        _restored[module.Object] = attributes = new Dictionary<string, object?>(StringComparer.Ordinal);
        Invoke(setState, module, isMethod: true, [StateValue(module.Object.State, Join(module.Path, "state"))],
            new Dictionary<string, object?>(), $"{module.QualifiedClassName}.__setstate__");
        return attributes;
    }


    /// <summary>A pickled state as interpreter values: tensors become initializers named by <paramref name="path"/> and their position.</summary>
    private object? StateValue(object? raw, string path) => raw switch
    {
        TensorData tensor => Weight(tensor, path),
        QuantizedTensorData quantized => QuantizedWeight(quantized, path),
        PickleTuple tuple => new TupleValue(tuple.Items.Select((item, i) => StateValue(item, $"{path}.{i}")).ToList()),
        List<object?> list => list.Select((item, i) => StateValue(item, $"{path}.{i}")).ToList(),
        _ => FromPickle(raw),
    };

    /// <summary>A quantized parameter: its integers as an initializer behind a DequantizeLinear with its scales and zero points.</summary>
    private Value QuantizedWeight(QuantizedTensorData tensor, string path)
    {
        if (_quantizedWeights.TryGetValue(tensor, out var existing)) return existing;
        var integers = _graph.AddInitializer(path, new ConstantData(tensor.Values.DataType, tensor.Shape.ToArray(), tensor.Values.ContiguousBytes()));
        var context = new OpContext(_graph, _opset, "aten::dequantize", "/" + path.Replace('.', '/'), default, new SourceLocation(_model.Archive.FilePath));
        var value = Qdq.Dequantize(context, integers, new Quantization(tensor.Scales, tensor.ZeroPoints, tensor.Axis, tensor.Values.DataType));
        _quantizedWeights[tensor] = value;
        return value;
    }

    /// <summary>
    /// A <c>torch.classes.quantized</c> packed-parameters object of the archive, from the state its <c>__getstate__</c> saved:
    /// LinearPackedParamsBase <c>(weight, bias)</c>; Conv2dPackedParamsBase <c>(version, [params, weight], [bias])</c> with
    /// params = [spatial dims, stride…, padding…, dilation…, output_padding…, groups, transposed] (versions 2 and 3).
    /// </summary>
    private PackedParams PackedParamsObject(PickleObject packed, ModuleValue owner, string path, SourceSpan span)
    {
        if (_packed.TryGetValue(packed, out var existing)) return existing;
        var kind = packed.ClassName[PackedParamsPrefix.Length..];
        var state = StateValue(packed.State, path);
        var frame = new Frame(owner);
        object? Prepack(string op, List<object?> args) => CallOp(op, args, new Dictionary<string, object?>(), span, frame);
        var result = (kind, state) switch
        {
            ("LinearPackedParamsBase", TupleValue { Items: [Value weight, var bias] }) when bias is null or Value =>
                Prepack("quantized::linear_prepack", [weight, bias]),
            ("Conv2dPackedParamsBase", TupleValue { Items: ["2" or "3", List<object?> { Count: 2 } tensors, List<object?> { Count: 1 } optional] })
                when tensors[0] is Value { Constant: { } config } && tensors[1] is Value weight =>
                ConvPrepack(Prepack, ConfigValues(config), weight, optional[0], path, span),
            _ => throw new ModelForgeException(DiagnosticCode.UnsupportedDtype,
                $"the packed parameters '{packed.ClassName}' at '{path}' hold {DescribeValue(state)} ({packed.State}); ModelForge reads " +
                "LinearPackedParamsBase (weight, bias) and Conv2dPackedParamsBase versions 2 and 3 of 2-D, non-transposed convolutions",
                _model.Locate(span), "keep this layer in float (qconfig None), or report the model"),
        };
        return _packed[packed] = (PackedParams)result!;
    }

    private object? ConvPrepack(Func<string, List<object?>, object?> prepack, long[] config, Value weight, object? bias, string path, SourceSpan span)
    {
        // [2, stride×2, padding×2, dilation×2, output_padding×2, groups, transposed]
        if (config.Length != 11 || config[0] != 2 || config[10] != 0)
            throw new ModelForgeException(DiagnosticCode.UnsupportedDtype,
                $"the quantized convolution at '{path}' has parameters [{string.Join(", ", config)}]; only 2-D, non-transposed quantized convolutions are supported",
                _model.Locate(span), "keep this layer in float (qconfig None), or report the model");
        List<object?> Pair(int at) => [config[at], config[at + 1]];
        return prepack("quantized::conv2d_prepack", [weight, bias, Pair(1), Pair(3), Pair(5), config[9]]);
    }

    private static long[] ConfigValues(ConstantData config)
    {
        var values = new long[config.ElementCount];
        for (var i = 0; i < values.Length; i++)
            values[i] = config.ElementType switch
            {
                DataType.Int16 => BitConverter.ToInt16(config.Bytes.Span[(i * 2)..]),
                DataType.Int64 => BitConverter.ToInt64(config.Bytes.Span[(i * 8)..]),
                _ => -1,
            };
        return values;
    }
}
