using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

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

/// <summary><c>argmax(x, dim, keepdim)</c> → ArgMax (first index of the maximum, as torch); dim None flattens first.</summary>
[AtenOp("aten::argmax", "aten::argmin")]
internal static class ArgMax
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var onnxOp = c.OpName == "aten::argmax" ? "ArgMax" : "ArgMin";
        if (a.IsNone(1, "dim"))
        {
            var flat = c.Op("Reshape", [x, c.ConstInt64([-1])], x.Type.WithShape([Shapes.Product(x.Type.Shape!)]));
            return c.Op(onnxOp, [flat], TensorType.Scalar(DataType.Int64), ("axis", 0), ("keepdims", 0));
        }
        var axis = Shapes.NormalizeAxis(a.Int(1, "dim"), x.Type.Rank);
        var keep = a.Bool(2, "keepdim", false);
        var shape = x.Type.Shape!.Select((d, i) => i == axis ? (keep ? Dim.Of(1) : (Dim?)null) : d).Where(d => d is not null).Select(d => d!.Value).ToArray();
        return c.Op(onnxOp, [x], TensorType.Of(DataType.Int64, shape), ("axis", axis), ("keepdims", keep ? 1 : 0));
    }
}
