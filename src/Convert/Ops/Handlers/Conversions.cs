using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;
using ModelForge.Convert.Passes;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Conversions: dtype casts and the moves between Python scalars and tensors (to, type_as, _cast_*, NumToTensor,
// scalar_tensor, tensor/as_tensor, item, Int).

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
[AtenOp("prim::NumToTensor")]
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
/// <c>torch.scalar_tensor(s, dtype)</c>: a 0-d tensor of dtype, else of torch's default float32, whatever s is (an int
/// size too, unlike <c>prim::NumToTensor</c>, which keeps an int's int64).
/// </summary>
[AtenOp("aten::scalar_tensor")]
internal static class ScalarTensor
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var type = a.Get(1, "dtype") is long scalarType && DataTypes.FromTorchScalarType(scalarType) is { } t ? t : DataType.Float32;
        return a.Get(0) switch
        {
            long l => c.Scalar(l, type),
            double d => c.Scalar(d, type),
            bool b => c.Scalar(b ? 1 : 0, type),
            DynamicInt dynamic => c.Cast(dynamic.Scalar, type),
            _ => c.Cast(a.Tensor(0), type),
        };
    }
}

/// <summary>
/// <c>float(t)</c> and <c>float(n)</c>: a Python float when the value is known at conversion time (a constant: a quantized
/// model's QuantStub reads its scale buffer so; or computed from constants and static dims only). Otherwise (a size of a
/// dynamic dim, a run-time one-element tensor) it is a <see cref="RunTimeFloat"/>, which arithmetic with tensors treats
/// as torch treats a Python float (an int tensor times it is float32, a float tensor keeps its dtype).
/// </summary>
[AtenOp("aten::Float", "aten::FloatImplicit")]
internal static class ToPythonFloat
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        switch (a.Get(0))
        {
            case double or long or bool: return a.Float(0);
            case RunTimeFloat f: return f;
            case DynamicInt size: return new RunTimeFloat(c.Cast(size.Scalar, DataType.Float64));
        }
        var x = a.Tensor(0);
        if (x.Type.Shape is { } shape && shape.All(d => d.Value is not null) && shape.Aggregate(1L, (n, d) => n * d.Value!.Value) != 1)
            throw c.Error(DiagnosticCode.InvalidOpArguments, $"{c.OpName} of {x}: only a one-element tensor converts to a Python float",
                "torch raises here too; index the element first");
        return (x.Constant ?? ConstantFoldingPass.Evaluate(x)) switch
        {
            { ElementCount: 1, ElementType: DataType.Float32 } f => (double)BitConverter.ToSingle(f.Bytes.Span),
            { ElementCount: 1, ElementType: DataType.Float64 } d => BitConverter.ToDouble(d.Bytes.Span),
            _ when c.TryGetConstantInt64(x, out var integer) => (double)integer,
            _ => new RunTimeFloat(c.Cast(Item.Scalar(c, x), DataType.Float64)),
        };
    }
}

/// <summary>
/// <c>torch.tensor(data, dtype, device, requires_grad)</c> and <c>torch.as_tensor(data, dtype, device)</c> of Python
/// numbers or (nested, rectangular) lists of them: a constant of the data's shape, of dtype or else of torch's choice
/// (bool for bools, int64 for ints, float32 as soon as one is a float); a run-time int (<c>torch.tensor(x.size(0))</c>)
/// is its 0-d value, and data holding some is built in the graph; as_tensor of a tensor is that tensor, cast to dtype if one
/// is given.
/// </summary>
[AtenOp("aten::tensor", "aten::as_tensor")]
internal static class TensorFromData
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        DataType? requested = a.Get(1, "dtype") is long scalarType ? DataTypes.FromTorchScalarType(scalarType) : null;
        if (a.Get(0) is Value tensor) return requested is { } dtype ? c.Cast(tensor, dtype) : tensor;
        if (a.Get(0) is DynamicInt dynamic) return c.Cast(dynamic.Scalar, requested ?? DataType.Int64);
        var (shape, values) = (new List<long>(), new List<object>());
        Flatten(c, a.Get(0), 0, shape, values);
        var type = requested ?? (values.Any(v => v is double) || values.Count == 0 ? DataType.Float32
            : values.All(v => v is bool) ? DataType.Bool : DataType.Int64);
        if (values.Any(v => v is DynamicInt)) return FromRunTimeInts(c, type, shape, values);
        return c.ConstantFrom(type, [.. shape], values.Select(v => v switch { bool b => b ? 1.0 : 0.0, long l => l, _ => (double)v }), "tensor");
    }

    /// <summary>
    /// Ints some of which are known only at run time (torchvision's detection transform takes
    /// <c>torch.tensor(image.shape[-2:])</c> of an image whose size is dynamic): concatenated in the graph, shaped as the data.
    /// </summary>
    private static Value FromRunTimeInts(OpContext c, DataType type, List<long> shape, List<object> values)
    {
        var ints = values.Select(v => v switch
        {
            long or DynamicInt => v,
            bool b => b ? 1L : 0L,
            _ => throw c.Error(DiagnosticCode.InvalidOpArguments,
                $"{c.OpName} of floats together with ints known only at run time", "build the tensor with torch.stack instead"),
        }).ToList();
        var flat = c.Cast(c.ShapeTensor(ints), type);
        return shape.Count == 1 ? flat : c.Op("Reshape", [flat, c.ConstInt64([.. shape])], TensorType.Of(type, [.. shape.Select(d => (Dim)d)]));
    }

    /// <summary>Appends the numbers of <paramref name="data"/> in row-major order and records each nesting level's length.</summary>
    private static void Flatten(OpContext c, object? data, int depth, List<long> shape, List<object> values)
    {
        switch (data)
        {
            case long or double or bool or DynamicInt:
                if (depth != shape.Count) throw Ragged(c);
                values.Add(data);
                break;
            case List<object?> list:
                if (depth == shape.Count) shape.Add(list.Count);
                else if (depth > shape.Count || shape[depth] != list.Count) throw Ragged(c);
                foreach (var item in list) Flatten(c, item, depth + 1, shape, values);
                break;
            default:
                throw c.Error(DiagnosticCode.InvalidOpArguments,
                    $"{c.OpName} expects numbers or lists of numbers known at conversion time, got {Interpreter.DescribeValue(data)}",
                    "build the tensor from graph values with torch.stack or torch.cat instead");
        }
    }

    private static ModelForgeException Ragged(OpContext c) =>
        c.Error(DiagnosticCode.InvalidOpArguments, $"{c.OpName} of nested lists of different lengths", "torch.tensor needs rectangular data");
}

/// <summary>
/// <c>int(t)</c> of a one-element tensor: a plain int when it is a constant or computed from constants and static dims
/// only (a detector's resize size from the input's shape), else a run-time int.
/// </summary>
[AtenOp("aten::Int", "aten::IntImplicit", "aten::ScalarImplicit")]
internal static class ToInt
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        if (a.Get(0) is long or DynamicInt) return a.Get(0);
        if (a.Get(0) is RunTimeFloat f) return new DynamicInt(c.Cast(f.Scalar, DataType.Int64)); // Cast truncates toward zero, as int()
        var x = a.Tensor(0);
        if (c.TryGetConstantInt64(x, out var value)) return value;
        if (ConstantFoldingPass.Evaluate(x) is { ElementCount: 1 } known && (known.ElementType.IsInteger() || c.OpName == "aten::Int") &&
            FoldTensor.Cast(FoldTensor.From(known), DataType.Int64) is { } truncated)
            return truncated.Longs()[0];
        return new DynamicInt(c.Cast(Item.Scalar(c, x), DataType.Int64));
    }
}

/// <summary>
/// <c>t.item()</c> of a one-element tensor: a Python number when the tensor is a constant or computed from constants and
/// static dims only; else an integer or bool tensor gives a run-time int and a floating-point one a run-time float
/// (<see cref="RunTimeFloat"/>, a double as Python's).
/// </summary>
[AtenOp("aten::item")]
internal static class Item
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        // A constant, or computed from constants and static dims only (a scripted detector's resize scale from the image's shape).
        if ((x.Constant ?? ConstantFoldingPass.Evaluate(x)) is { ElementCount: 1 } constant)
            return constant.ElementType switch
            {
                DataType.Float32 => (double)BitConverter.ToSingle(constant.Bytes.Span),
                DataType.Float64 => BitConverter.ToDouble(constant.Bytes.Span),
                DataType.Bool => constant.Bytes.Span[0] != 0,
                var type when type.IsInteger() && FoldTensor.Cast(FoldTensor.From(constant), DataType.Int64) is { } integer => integer.Longs()[0],
                _ => Scalar(c, x),
            };
        return x.Type.ElementType.IsFloatingPoint() ? new RunTimeFloat(c.Cast(Scalar(c, x), DataType.Float64))
            : new DynamicInt(c.Cast(Scalar(c, x), DataType.Int64));
    }

    /// <summary>A one-element tensor as a 0-d one.</summary>
    public static Value Scalar(OpContext c, Value x) =>
        x.Type.Shape is { Count: 0 } ? x : c.Op("Reshape", [x, c.ConstInt64([])], x.Type.WithShape([]));
}
