using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops.Handlers;

// Activations: the nn activation functions (relu, sigmoid, tanh, silu, hardtanh, hardsigmoid, hardswish, gelu)
// and clamp. The in-place variants (relu_, …) lower the same way; the interpreter rebinds the mutated tensor to
// the result. Those that are one ONNX node are declared with [Elementwise] (see OpRegistry.cs).

[AtenOp("aten::relu", "aten::relu_"), Elementwise("Relu")]
internal static class Relu;

[AtenOp("aten::sigmoid", "aten::sigmoid_"), Elementwise("Sigmoid")]
internal static class Sigmoid;

[AtenOp("aten::tanh", "aten::tanh_"), Elementwise("Tanh")]
internal static class Tanh;

/// <summary><c>silu(x) = x·sigmoid(x)</c>; ONNX has no Swish/SiLU op before opset 24.</summary>
[AtenOp("aten::silu", "aten::silu_")]
internal static class Silu
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        return c.Op("Mul", [x, c.Op("Sigmoid", [x], x.Type)], x.Type);
    }
}

/// <summary><c>hardtanh(x, min_val, max_val)</c> (nn.ReLU6 is hardtanh(0, 6)) → Clip with min/max inputs.</summary>
[AtenOp("aten::hardtanh", "aten::hardtanh_")]
internal static class Hardtanh
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var type = x.Type.ElementType;
        return c.Op("Clip", [x, c.Scalar(a.Float(1, "min_val", -1), type), c.Scalar(a.Float(2, "max_val", 1), type)], x.Type);
    }
}

/// <summary><c>hardsigmoid(x) = clip(x/6 + 1/2, 0, 1)</c>: ONNX HardSigmoid with alpha 1/6 (its default is 0.2).</summary>
[AtenOp("aten::hardsigmoid", "aten::hardsigmoid_")]
internal static class Hardsigmoid
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) =>
        c.Op("HardSigmoid", [a.Tensor(0)], a.Tensor(0).Type, ("alpha", 1.0 / 6), ("beta", 0.5));
}

/// <summary><c>hardswish(x) = x·hardsigmoid(x)</c>: ONNX HardSwish from opset 14, spelled out before.</summary>
[AtenOp("aten::hardswish", "aten::hardswish_"), Elementwise("HardSwish", FromOpset = 14)]
internal static class Hardswish
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        return c.Op("Mul", [x, c.Op("HardSigmoid", [x], x.Type, ("alpha", 1.0 / 6), ("beta", 0.5))], x.Type);
    }
}

/// <summary>
/// <c>gelu(x, approximate)</c>: exact GELU is x·½(1 + erf(x/√2)); "tanh" is x·½(1 + tanh(√(2/π)(x + 0.044715x³))).
/// ONNX has a Gelu op (with both forms) from opset 20.
/// </summary>
[AtenOp("aten::gelu", "aten::gelu_")]
internal static class Gelu
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var type = x.Type.ElementType;
        Value inner;
        if (a.Get(1, "approximate") is "tanh")
        {
            var cube = c.Op("Mul", [x, c.Op("Mul", [x, x], x.Type)], x.Type);
            var sum = c.Op("Add", [x, c.Op("Mul", [cube, c.Scalar(0.044715, type)], x.Type)], x.Type);
            inner = c.Op("Tanh", [c.Op("Mul", [sum, c.Scalar(Math.Sqrt(2 / Math.PI), type)], x.Type)], x.Type);
        }
        else
        {
            inner = c.Op("Erf", [c.Op("Div", [x, c.Scalar(Math.Sqrt(2), type)], x.Type)], x.Type);
        }
        var half = c.Op("Mul", [x, c.Scalar(0.5, type)], x.Type);
        return c.Op("Mul", [half, c.Op("Add", [inner, c.Scalar(1, type)], x.Type)], x.Type);
    }

    [Opset(20)]
    private static object? V20(OpContext c, OpArgs a) =>
        c.Op("Gelu", [a.Tensor(0)], a.Tensor(0).Type, ("approximate", a.Get(1, "approximate") as string ?? "none"));
}

/// <summary><c>clamp(x, min, max)</c>, <c>clamp_min(x, min)</c>, <c>clamp_max(x, max)</c> → Clip; a None bound is omitted.</summary>
[AtenOp("aten::clamp", "aten::clamp_", "aten::clip", "aten::clip_", "aten::clamp_min", "aten::clamp_min_", "aten::clamp_max", "aten::clamp_max_")]
internal static class Clamp
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var (min, max) = c.OpName switch
        {
            "aten::clamp_min" or "aten::clamp_min_" => (a.Get(1), null),
            "aten::clamp_max" or "aten::clamp_max_" => (null, a.Get(1)),
            _ => (a.Get(1, "min"), a.Get(2, "max")),
        };
        Value? Bound(object? bound) => bound is null ? null : c.Cast(c.AsTensor(bound, x.Type.ElementType), x.Type.ElementType);
        return c.Op("Clip", [x, Bound(min), Bound(max)], x.Type);
    }
}
