using ModelForge.Model;
using Onnx;

namespace ModelForge.Validate.Compare;

/// <summary>
/// The tolerance rule for models quantized in PyTorch (docs/precision.md): an output that is the DequantizeLinear of a
/// per-tensor quantized value lies on the grid (q − zero_point) × scale, and two int8 kernels that round an intermediate
/// value differently move it by one grid step. Such an output gets at least one step of its scale as its absolute
/// tolerance; a larger tolerance the user set stays.
/// </summary>
public static class QuantizedOutputTolerance
{
    // Ops that move or select values without changing them: an output behind them is still on the grid.
    private static readonly HashSet<string> ValuePreserving = new(StringComparer.Ordinal)
    {
        "Identity", "Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze",
    };

    /// <summary><paramref name="tolerances"/> with one output step as the least atol of each quantized output of the ONNX model.</summary>
    public static ToleranceSettings AtLeastOneStep(ToleranceSettings tolerances, string onnxPath)
    {
        var scales = OutputScales(onnxPath);
        if (scales.Count == 0) return tolerances;
        var perOutput = new Dictionary<string, Tolerance>(tolerances.PerOutput, StringComparer.Ordinal);
        foreach (var (output, scale) in scales)
        {
            var current = tolerances.For(output, DataType.Float32);
            // 1e-4 relative slack: the step is the float32 scale, the difference of two float32 grid values.
            perOutput[output] = current with { Atol = Math.Max(current.Atol, scale * (1 + 1e-4)) };
        }
        return tolerances with { PerOutput = perOutput };
    }

    /// <summary>The graph outputs that are dequantized values (through value-preserving ops), with their scale.</summary>
    public static IReadOnlyDictionary<string, double> OutputScales(string onnxPath)
    {
        ModelProto model;
        using (var stream = File.OpenRead(onnxPath)) model = ModelProto.Parser.ParseFrom(stream);
        var graph = model.Graph;
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
            foreach (var output in node.Output) producers[output] = node;
        var initializers = graph.Initializer.ToDictionary(i => i.Name, StringComparer.Ordinal);
        var scales = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var output in graph.Output)
        {
            var name = output.Name;
            while (producers.TryGetValue(name, out var node) && ValuePreserving.Contains(node.OpType)) name = node.Input[0];
            if (producers.TryGetValue(name, out var dequantize) && dequantize.OpType == "DequantizeLinear" &&
                initializers.TryGetValue(dequantize.Input[1], out var scale) && ScalarFloat(scale) is { } step)
                scales[output.Name] = step;
        }
        return scales;
    }

    private static double? ScalarFloat(TensorProto tensor)
    {
        if (tensor.Dims.Aggregate(1L, (a, d) => a * d) != 1 || tensor.DataType != (int)TensorProto.Types.DataType.Float) return null;
        if (tensor.FloatData.Count == 1) return tensor.FloatData[0];
        return tensor.RawData.Length == 4 ? BitConverter.ToSingle(tensor.RawData.Span) : null;
    }
}
