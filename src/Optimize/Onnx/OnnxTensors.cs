using System.Runtime.InteropServices;
using Google.Protobuf;
using ModelForge.Core.Diagnostics;
using Onnx;

namespace ModelForge.Optimize.Onnx;

/// <summary>ONNX element types by their <c>TensorProto.DataType</c> numbers, as graphs store them (plain ints).</summary>
internal static class ElementTypes
{
    public const int Float = (int)TensorProto.Types.DataType.Float;
    public const int UInt8 = (int)TensorProto.Types.DataType.Uint8;
    public const int Int8 = (int)TensorProto.Types.DataType.Int8;
    public const int Int32 = (int)TensorProto.Types.DataType.Int32;
    public const int Int64 = (int)TensorProto.Types.DataType.Int64;
    public const int Bool = (int)TensorProto.Types.DataType.Bool;
    public const int Float16 = (int)TensorProto.Types.DataType.Float16;
}

/// <summary>Reading and making the initializers the precision rewrites touch (float32 in, float16/int8 out).</summary>
internal static class OnnxTensors
{
    /// <summary>A float32 tensor's values, from <c>raw_data</c> or <c>float_data</c>.</summary>
    public static float[] ReadFloats(TensorProto tensor) => FloatValues(tensor).ToArray();

    /// <summary>
    /// A float32 tensor's values without a copy when they are in <c>raw_data</c> (a weight mapped from external data
    /// stays in the page cache), a copy of <c>float_data</c> otherwise. Valid while the tensor is.
    /// </summary>
    public static ReadOnlySpan<float> FloatValues(TensorProto tensor)
    {
        if (tensor.DataType != ElementTypes.Float)
            throw new ArgumentException($"tensor '{tensor.Name}' is not float32", nameof(tensor));
        return tensor.RawData.Length > 0 ? MemoryMarshal.Cast<byte, float>(tensor.RawData.Span) : tensor.FloatData.ToArray();
    }

    public static TensorProto Halves(string name, ReadOnlySpan<Half> values, IEnumerable<long> dims) =>
        Raw(name, ElementTypes.Float16, MemoryMarshal.AsBytes(values), dims);

    /// <summary>A tensor over <paramref name="bytes"/> itself, not a copy: the caller made them for it and lets go of them.</summary>
    public static TensorProto Owning(string name, int elementType, byte[] bytes, IEnumerable<long> dims)
    {
        var tensor = new TensorProto { Name = name, DataType = elementType, RawData = UnsafeByteOperations.UnsafeWrap(bytes) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }

    public static TensorProto Floats(string name, ReadOnlySpan<float> values, IEnumerable<long> dims) =>
        Raw(name, ElementTypes.Float, MemoryMarshal.AsBytes(values), dims);

    public static TensorProto Int8s(string name, ReadOnlySpan<sbyte> values, IEnumerable<long> dims) =>
        Raw(name, ElementTypes.Int8, MemoryMarshal.AsBytes(values), dims);

    private static TensorProto Raw(string name, int elementType, ReadOnlySpan<byte> bytes, IEnumerable<long> dims)
    {
        var tensor = new TensorProto { Name = name, DataType = elementType, RawData = ByteString.CopyFrom(bytes) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }

    /// <summary>
    /// Refuses a model whose weights are in external data files: the rewrites read and replace weight bytes, which
    /// must be in the model (MF8025).
    /// </summary>
    public static void RequireInlineWeights(ModelProto model, string rewrite)
    {
        var external = model.Graph.Initializer.FirstOrDefault(t => t.DataLocation == TensorProto.Types.DataLocation.External);
        if (external is not null)
            throw new ModelForgeException(DiagnosticCode.PrecisionExternalDataNotLoaded,
                $"{rewrite}: weight '{external.Name}' is in an external data file, not in the model",
                hint: "load the model with its external data (its tensors' raw_data filled in) before rewriting it");
    }
}
