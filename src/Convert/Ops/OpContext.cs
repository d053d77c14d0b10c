using System.Runtime.InteropServices;
using ModelForge.Convert.IR;
using ModelForge.Convert.Interpret;
using ModelForge.Core.Diagnostics;
using ModelForge.TorchScript.Script;

namespace ModelForge.Convert.Ops;

/// <summary>
/// What a handler sees while lowering one aten call: the graph to add ONNX nodes to, the target opset,
/// and where the call is (for node scopes and diagnostics).
/// </summary>
public sealed class OpContext
{
    public OpContext(Graph graph, int opset, string opName, string scope, SourceSpan span, SourceLocation location)
    {
        Graph = graph; Opset = opset; OpName = opName; Scope = scope; Span = span; Location = location;
    }

    public Graph Graph { get; }
    public int Opset { get; }
    public string OpName { get; }
    public string Scope { get; }
    public SourceSpan Span { get; }
    public SourceLocation Location { get; }

    /// <summary>Attention may be lowered to ONNX Runtime's <c>com.microsoft</c> fused op (<see cref="ConvertOptions.FusedAttention"/>).</summary>
    public bool FusedAttention { get; init; }

    public ModelForgeException Error(DiagnosticCode code, string message, string? hint = null) =>
        new(code, message, Location, hint);

    /// <summary>For a call form ONNX expresses only from a later opset than the target: names the op, the form and the opset.</summary>
    public ModelForgeException NeedsOpset(int opset, string form) =>
        Error(DiagnosticCode.OpsetTooLow, $"{OpName} with {form} needs opset ≥ {opset}, target is {Opset}", $"raise --opset to {opset}");

    /// <summary>Adds one ONNX node with a single output of the given type.</summary>
    public Value Op(string opType, IReadOnlyList<Value?> inputs, TensorType outputType, params (string Name, AttributeValue Value)[] attributes) =>
        OpMulti(opType, inputs, [outputType], attributes)[0];

    public IReadOnlyList<Value> OpMulti(string opType, IReadOnlyList<Value?> inputs, IReadOnlyList<TensorType> outputTypes,
        params (string Name, AttributeValue Value)[] attributes) => AddNode("", opType, inputs, outputTypes, attributes);

    /// <summary>Adds one node of ONNX Runtime's <c>com.microsoft</c> contrib domain (the emitter imports the domain).</summary>
    public Value MicrosoftOp(string opType, IReadOnlyList<Value?> inputs, TensorType outputType, params (string Name, AttributeValue Value)[] attributes) =>
        AddNode(Graph.MicrosoftDomain, opType, inputs, [outputType], attributes)[0];

    private IReadOnlyList<Value> AddNode(string domain, string opType, IReadOnlyList<Value?> inputs, IReadOnlyList<TensorType> outputTypes,
        (string Name, AttributeValue Value)[] attributes)
    {
        var attributeMap = new SortedDictionary<string, AttributeValue>(StringComparer.Ordinal);
        foreach (var (name, value) in attributes) attributeMap[name] = value;
        return Graph.AddNode(opType, inputs, outputTypes, attributeMap, Scope, Span, domain).Outputs;
    }

    // ---- constants ------------------------------------------------------------------------------

    public Value ConstInt64(long[] values, long[]? shape = null) =>
        Constant(DataType.Int64, shape ?? [values.Length], MemoryMarshal.AsBytes(values.AsSpan()).ToArray(), "const");

    public Value ScalarInt64(long value) => ConstInt64([value], []);

    /// <summary>A 0-d constant of <paramref name="type"/> holding <paramref name="value"/> (for scalars mixed with tensors).</summary>
    public Value Scalar(double value, DataType type) => Constant(type, [], ScalarBytes(value, type), "const");

    /// <summary>A constant of <paramref name="shape"/> with every element <paramref name="value"/> (affine defaults: ones, zeros).</summary>
    public Value Filled(DataType type, long[] shape, double value, string name)
    {
        var element = ScalarBytes(value, type);
        var count = shape.Aggregate(1L, (p, d) => p * d);
        var bytes = new byte[element.Length * count];
        for (var i = 0; i < count; i++) element.CopyTo(bytes, i * element.Length);
        return Constant(type, shape, bytes, name);
    }

    public Value Constant(DataType type, long[] shape, byte[] bytes, string name) =>
        Graph.AddInitializer(Graph.UniqueName($"{Scope}/{name}"), new ConstantData(type, shape, bytes));

    /// <summary>A constant of <paramref name="shape"/> holding <paramref name="values"/> (row-major) as <paramref name="type"/>.</summary>
    public Value ConstantFrom(DataType type, long[] shape, IEnumerable<double> values, string name) =>
        Constant(type, shape, values.SelectMany(v => ScalarBytes(v, type)).ToArray(), name);

    private static byte[] ScalarBytes(double value, DataType type) => type switch
    {
        DataType.Float32 => BitConverter.GetBytes((float)value),
        DataType.Float64 => BitConverter.GetBytes(value),
        DataType.Float16 => BitConverter.GetBytes((Half)value),
        DataType.BFloat16 => BitConverter.GetBytes((ushort)(BitConverter.SingleToUInt32Bits((float)value) >> 16)),
        DataType.Int64 => BitConverter.GetBytes((long)value),
        DataType.Int32 => BitConverter.GetBytes((int)value),
        DataType.Int16 => BitConverter.GetBytes((short)value),
        DataType.Int8 => [(byte)(sbyte)value],
        DataType.UInt8 => [(byte)value],
        DataType.Bool => [value != 0 ? (byte)1 : (byte)0],
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>True when <paramref name="value"/> is a constant holding exactly one int64 (any rank).</summary>
    public bool TryGetConstantInt64(Value value, out long result)
    {
        result = 0;
        if (value.Constant is not { ElementType: DataType.Int64 } c || c.ElementCount != 1) return false;
        result = MemoryMarshal.Read<long>(c.Bytes.Span);
        return true;
    }

    public bool TryGetConstantInt64s(Value value, out long[] result)
    {
        result = [];
        if (value.Constant is not { ElementType: DataType.Int64 } c) return false;
        result = MemoryMarshal.Cast<byte, long>(c.Bytes.Span).ToArray();
        return true;
    }

    // ---- conversions between Python values and tensors -----------------------------------------

    /// <summary>
    /// A tensor for an operand that may be a Python scalar: scalars become 0-d constants of
    /// <paramref name="like"/>'s element type (torch's rule for tensor-scalar arithmetic).
    /// </summary>
    public Value AsTensor(object? operand, DataType like) => operand switch
    {
        Value v => v,
        long l => Scalar(l, like),
        double d => Scalar(d, like.IsFloatingPoint() ? like : DataType.Float32),
        bool b => Scalar(b ? 1 : 0, like),
        DynamicInt d => d.Scalar,
        RunTimeFloat f => Cast(f.Scalar, like.IsFloatingPoint() ? like : DataType.Float32),
        _ => throw Error(DiagnosticCode.InvalidOpArguments,
            $"{OpName} expects a tensor or a number, got {Interpreter.DescribeValue(operand)}"),
    };

    /// <summary>A 1-D int64 tensor from a list of static and dynamic ints (for Reshape, Expand, …).</summary>
    public Value ShapeTensor(IReadOnlyList<object> dims)
    {
        if (dims.All(d => d is long))
            return ConstInt64(dims.Cast<long>().ToArray());
        var parts = dims.Select(d => d switch
        {
            long l => ConstInt64([l]),
            DynamicInt dyn => Unsqueeze(dyn.Scalar, [0]),
            _ => throw new InvalidOperationException("shape entries are ints"),
        }).ToArray();
        return Op("Concat", parts, TensorType.Of(DataType.Int64, dims.Count), ("axis", 0));
    }

    public Value Unsqueeze(Value input, long[] axes)
    {
        var shape = input.Type.Shape is { } s ? Shapes.Unsqueeze(s, axes) : null;
        return Op("Unsqueeze", [input, ConstInt64(axes)], input.Type.WithShape(shape));
    }

    /// <summary>Size of dimension <paramref name="dim"/> as a 0-d int64 graph value (Shape → Gather).</summary>
    public Value DimSize(Value input, long dim)
    {
        var shape = Op("Shape", [input], TensorType.Of(DataType.Int64, input.Type.Rank));
        var size = Op("Gather", [shape, ScalarInt64(dim)], TensorType.Scalar(DataType.Int64), ("axis", 0));
        size.SizeOf = input.Type.Shape?[(int)dim];
        return size;
    }

    /// <summary>The dims of <paramref name="input"/> as sizes for <see cref="ShapeTensor"/>: static ones as longs, dynamic ones as run-time ints.</summary>
    public object[] Sizes(Value input) =>
        input.Type.Shape!.Select((d, i) => d.Value is { } v ? (object)v : new DynamicInt(DimSize(input, i))).ToArray();

    /// <summary>The shape of <paramref name="input"/> as a 1-D int64 tensor: a constant when static, else a Shape node.</summary>
    public Value ShapeOf(Value input) =>
        input.Type.IsFullyStatic ? ConstInt64(input.Type.StaticShape()) : Op("Shape", [input], TensorType.Of(DataType.Int64, input.Type.Rank));

    /// <summary>Integer and bool tensors as float32, floating-point ones as they are: torch computes exp, sin, log, … in float.</summary>
    public Value ToFloat(Value input) => input.Type.ElementType.IsFloatingPoint() ? input : Cast(input, DataType.Float32);

    public Value Cast(Value input, DataType to) =>
        input.Type.ElementType == to ? input : Op("Cast", [input], input.Type.WithElementType(to), ("to", (long)to));
}
