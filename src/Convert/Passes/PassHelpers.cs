using System.Runtime.InteropServices;
using ModelForge.Convert.IR;

namespace ModelForge.Convert.Passes;

/// <summary>Small queries and constant conversions the passes share.</summary>
internal static class PassHelpers
{
    /// <summary>The only node reading <paramref name="value"/>, when exactly one node reads it once and it is not a graph output.</summary>
    public static Node? SoleConsumer(Graph graph, Dictionary<Value, List<Node>> consumers, Value value) =>
        consumers.TryGetValue(value, out var readers) && readers.Count == 1 && !graph.Outputs.Contains(value) ? readers[0] : null;

    public static float[]? Floats(Value? value) =>
        value?.Constant is { ElementType: DataType.Float32 } c ? MemoryMarshal.Cast<byte, float>(c.Bytes.Span).ToArray() : null;

    public static long[]? Longs(Value? value) =>
        value?.Constant is { ElementType: DataType.Int64 } c ? MemoryMarshal.Cast<byte, long>(c.Bytes.Span).ToArray() : null;

    /// <summary>The value of a one-element float32 constant (any rank).</summary>
    public static float? ScalarFloat(Value? value) => Floats(value) is [var single] ? single : null;

    public static bool IsScalarFloat(Value? value, double expected, double tolerance = 1e-6) =>
        ScalarFloat(value) is { } f && Math.Abs(f - expected) <= tolerance * Math.Max(1, Math.Abs(expected));

    public static ConstantData FloatConstant(float[] values, long[] shape) =>
        new(DataType.Float32, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    public static ConstantData LongConstant(long[] values, long[] shape) =>
        new(DataType.Int64, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    /// <summary>The reduction axes of a ReduceXxx node, from its attribute (opset &lt; 18) or its constant second input.</summary>
    public static long[]? ReduceAxes(Node node) =>
        node.Attributes.TryGetValue("axes", out var attribute) ? attribute.Value as long[]
        : node.Inputs.Count > 1 ? Longs(node.Inputs[1]) : null;

    public static long IntAttribute(Node node, string name, long fallback) =>
        node.Attributes.TryGetValue(name, out var a) && a.Value is long l ? l : fallback;

    public static double FloatAttribute(Node node, string name, double fallback) =>
        node.Attributes.TryGetValue(name, out var a) && a.Value is double d ? d : fallback;

    /// <summary>Two dims known to be equal: the same size, or the same named symbol (never two untracked dims).</summary>
    public static bool SameDim(Dim a, Dim b) => a == b && (a.IsStatic || a.Symbol != Ops.Shapes.UnknownSymbol);

    /// <summary>Calls <paramref name="match"/> with a binary node's operands in both orders; true if either matches.</summary>
    public static bool EitherOrder(Node? node, Func<Value, Value, bool> match) =>
        node is { Inputs: [{ } a, { } b] } && (match(a, b) || match(b, a));

    /// <summary>The node producing <paramref name="value"/> if it has op type <paramref name="opType"/>.</summary>
    public static Node? Producer(Value? value, string opType) => value?.Producer is { } p && p.OpType == opType ? p : null;
}
