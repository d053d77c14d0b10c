using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Conversions: dtype casts and the moves between Python scalars and tensors (to, type_as, _cast_*, NumToTensor,
// scalar_tensor, Int).

/// <summary>
/// <c>to(x, dtype, non_blocking, copy, memory_format)</c>, <c>to(x, device, dtype, …)</c> and <c>to(x, other, …)</c>
/// (what <c>x.float()</c>, <c>x.long()</c>, <c>x.to(y)</c> trace to) → Cast; a device-only move is the identity.
/// TorchScript spells dtypes as c10::ScalarType numbers.
/// </summary>
[AtenOp("aten::to", "aten::type_as")]
internal static class To
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        DataType? target = c.OpName == "aten::type_as" ? a.Tensor(1).Type.ElementType : a.Get(1) switch
        {
            long scalarType => DataTypes.FromTorchScalarType(scalarType)
                ?? throw c.Error(DiagnosticCode.UnsupportedDtype, $"aten::to with scalar type {scalarType} is not supported"),
            Value other => other.Type.ElementType,
            // to(x, device, dtype, …): the device is a string or None; the dtype follows it.
            _ => a.Get(2) is long scalarType ? DataTypes.FromTorchScalarType(scalarType) : null,
        };
        return target is { } type ? c.Cast(x, type) : x;
    }
}

/// <summary>
/// <c>_cast_Float(x, non_blocking)</c> and its siblings (the old cast ops, still callable as <c>torch._cast_*</c>)
/// → Cast to the dtype the name gives.
/// </summary>
[AtenOp("aten::_cast_Float", "aten::_cast_Double", "aten::_cast_Half", "aten::_cast_Int", "aten::_cast_Long", "aten::_cast_Short",
    "aten::_cast_Char", "aten::_cast_Byte")]
internal static class CastByName
{
    private static readonly Dictionary<string, DataType> TargetByOp = new()
    {
        ["aten::_cast_Float"] = DataType.Float32, ["aten::_cast_Double"] = DataType.Float64, ["aten::_cast_Half"] = DataType.Float16,
        ["aten::_cast_Int"] = DataType.Int32, ["aten::_cast_Long"] = DataType.Int64, ["aten::_cast_Short"] = DataType.Int16,
        ["aten::_cast_Char"] = DataType.Int8, ["aten::_cast_Byte"] = DataType.UInt8,
    };

    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => c.Cast(a.Tensor(0), TargetByOp[c.OpName]);
}

/// <summary>
/// <c>prim::NumToTensor(n)</c>: traced shape code turns ints into 0-d tensors. Static ints become constants
/// (which arithmetic handlers fold), run-time ints are already 0-d graph values.
/// </summary>
[AtenOp("prim::NumToTensor", "aten::scalar_tensor")]
internal static class NumToTensor
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => a.Get(0) switch
    {
        long l => c.ScalarInt64(l),
        double d => c.Scalar(d, DataType.Float32),
        bool b => c.Scalar(b ? 1 : 0, DataType.Bool),
        DynamicInt dynamic => dynamic.Scalar,
        _ => a.Tensor(0),
    };
}

/// <summary>
/// <c>float(t)</c> of a one-element constant tensor (a quantized model's QuantStub reads its scale buffer so): a Python
/// float at conversion time. A run-time value cannot become one, since ONNX has no Python floats.
/// </summary>
[AtenOp("aten::Float", "aten::FloatImplicit")]
internal static class ToPythonFloat
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        if (a.Get(0) is double or long) return a.Float(0);
        var x = a.Tensor(0);
        return x.Constant switch
        {
            { ElementCount: 1, ElementType: DataType.Float32 } f => (double)BitConverter.ToSingle(f.Bytes.Span),
            { ElementCount: 1, ElementType: DataType.Float64 } d => BitConverter.ToDouble(d.Bytes.Span),
            _ when c.TryGetConstantInt64(x, out var integer) => (double)integer,
            _ => throw c.Error(DiagnosticCode.StaticValueRequired, $"{c.OpName} of {x} needs a one-element tensor known at conversion time",
                "compute the float from constants or attributes, or keep it a tensor"),
        };
    }
}

/// <summary><c>int(t)</c> of a one-element tensor: a plain int when it is a constant, else a run-time int.</summary>
[AtenOp("aten::Int", "aten::IntImplicit", "aten::ScalarImplicit")]
internal static class ToInt
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        if (a.Get(0) is long or DynamicInt) return a.Get(0);
        var x = a.Tensor(0);
        if (c.TryGetConstantInt64(x, out var value)) return value;
        var scalar = x.Type.Shape is { Count: 0 } ? x : c.Op("Reshape", [x, c.ConstInt64([])], x.Type.WithShape([]));
        return new DynamicInt(c.Cast(scalar, DataType.Int64));
    }
}
