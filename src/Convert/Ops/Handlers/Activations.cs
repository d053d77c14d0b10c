using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Activations: the nn activation functions (relu, sigmoid, tanh, silu, hardtanh/relu6, hardsigmoid, hardswish, gelu,
// leaky_relu, rrelu, elu, selu, celu, prelu, glu, softplus, mish, hardshrink/softshrink, threshold, log_sigmoid) and clamp. The in-place variants (relu_, …) lower the same way; the interpreter rebinds the mutated tensor to
// the result. Those that are one ONNX node are declared with [Elementwise] (see OpRegistry.cs).

[AtenOp("aten::relu", "aten::relu_"), Elementwise("Relu")]
internal static class Relu;

/// <summary><c>sigmoid(x)</c> → Sigmoid; an integer or bool tensor gives float32, as in torch (so does tanh).</summary>
[AtenOp("aten::sigmoid", "aten::sigmoid_"), Elementwise("Sigmoid", IntegersToFloat = true)]
internal static class Sigmoid;

[AtenOp("aten::tanh", "aten::tanh_"), Elementwise("Tanh", IntegersToFloat = true)]
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

/// <summary>
/// <c>hardtanh(x, min_val, max_val)</c> (nn.ReLU6 is hardtanh(0, 6)) and <c>relu6(x)</c> (what F.relu6 traces to)
/// → Clip with min/max inputs.
/// </summary>
[AtenOp("aten::hardtanh", "aten::hardtanh_", "aten::relu6", "aten::relu6_")]
internal static class Hardtanh
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var type = x.Type.ElementType;
        var (min, max) = c.OpName.StartsWith("aten::relu6", StringComparison.Ordinal) ? (0.0, 6.0) : (a.Float(1, "min_val", -1), a.Float(2, "max_val", 1));
        return c.Op("Clip", [x, c.Scalar(min, type), c.Scalar(max, type)], x.Type);
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
    private static object? V13(OpContext c, OpArgs a) => Lower(c, a.Tensor(0));

    /// <summary>HardSwish at the target opset (quantized::hardswish lowers its float part here).</summary>
    public static Value Lower(OpContext c, Value x) =>
        c.Opset >= 14 ? c.Op("HardSwish", [x], x.Type)
        : c.Op("Mul", [x, c.Op("HardSigmoid", [x], x.Type, ("alpha", 1.0 / 6), ("beta", 0.5))], x.Type);
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

/// <summary>
/// <c>clamp(x, min, max)</c>, <c>clamp_min(x, min)</c>, <c>clamp_max(x, max)</c> → Clip; a None bound is omitted. Clip
/// takes 0-d bounds only, so tensor bounds (<c>clamp(x, min=lo_tensor)</c>) are Max and Min, broadcast.
/// </summary>
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
        var (lower, upper) = (Bound(min), Bound(max));
        if (lower?.Type.Shape is { Count: 0 } or null && upper?.Type.Shape is { Count: 0 } or null)
            return c.Op("Clip", [x, lower, upper], x.Type);
        Value Limit(string onnxOp, Value value, Value? bound) =>
            bound is null ? value : c.Op(onnxOp, [value, bound], value.Type.WithShape(Shapes.Broadcast(value.Type.Shape, bound.Type.Shape)));
        return Limit("Min", Limit("Max", x, lower), upper);
    }
}

/// <summary><c>leaky_relu(x, negative_slope=0.01)</c> → LeakyRelu.</summary>
[AtenOp("aten::leaky_relu", "aten::leaky_relu_")]
internal static class LeakyRelu
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) =>
        c.Op("LeakyRelu", [a.Tensor(0)], a.Tensor(0).Type, ("alpha", a.Float(1, "negative_slope", 0.01)));
}

/// <summary>
/// <c>elu(x, alpha, scale, input_scale)</c> → Elu. nn.ELU and F.elu always pass scale = input_scale = 1 (only selu,
/// which has its own op, scales); other scales are refused rather than lowered untested.
/// </summary>
[AtenOp("aten::elu", "aten::elu_")]
internal static class Elu
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        if (a.Float(2, "scale", 1) != 1 || a.Float(3, "input_scale", 1) != 1)
            throw c.Error(DiagnosticCode.UnsupportedOpVariant, $"{c.OpName} with scale or input_scale other than 1 is not supported",
                "nn.ELU and F.elu pass 1 for both; use nn.SELU for the scaled form");
        return c.Op("Elu", [a.Tensor(0)], a.Tensor(0).Type, ("alpha", a.Float(1, "alpha", 1)));
    }
}

/// <summary><c>selu(x)</c> → Selu with torch's alpha and scale (ONNX's defaults are these rounded to float).</summary>
[AtenOp("aten::selu", "aten::selu_")]
internal static class Selu
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) =>
        c.Op("Selu", [a.Tensor(0)], a.Tensor(0).Type, ("alpha", 1.6732632423543772848170429916717), ("gamma", 1.0507009873554804934193349852946));
}

/// <summary><c>celu(x, alpha) = max(0, x) + min(0, alpha·(exp(x/alpha) − 1))</c> → Celu, which ONNX defines for float32 only.</summary>
[AtenOp("aten::celu", "aten::celu_")]
internal static class Celu
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var celu = c.Op("Celu", [c.Cast(x, DataType.Float32)], x.Type.WithElementType(DataType.Float32), ("alpha", a.Float(1, "alpha", 1)));
        return c.Cast(celu, x.Type.ElementType);
    }
}

/// <summary>
/// <c>prelu(x, weight)</c> → PRelu. The weight has one slope per channel (dim 1) or a single one; ONNX broadcasts the
/// slope from the right, so a per-channel weight of an input of rank ≥ 3 is unsqueezed to [C, 1, …].
/// </summary>
[AtenOp("aten::prelu")]
internal static class Prelu
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var slope = a.Tensor(1);
        if (x.Type.Rank >= 3 && slope.Type.Rank == 1)
            slope = c.Unsqueeze(slope, Enumerable.Range(1, x.Type.Rank - 2).Select(i => (long)i).ToArray());
        return c.Op("PRelu", [x, slope], x.Type);
    }
}

/// <summary><c>glu(x, dim=-1) = a·sigmoid(b)</c> for the two halves a, b of <c>x</c> along <c>dim</c> (a Split of a static size).</summary>
[AtenOp("aten::glu")]
internal static class Glu
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var axis = Shapes.NormalizeAxis(a.Int(1, "dim", -1), x.Type.Rank);
        var size = x.Type.Shape![axis].Value ?? throw c.Error(DiagnosticCode.StaticValueRequired,
            $"{c.OpName} along dim {axis} of {x.Type}, whose size is not known at conversion time, is not supported", "give that dim a fixed size in --input");
        if (size % 2 != 0)
            throw c.Error(DiagnosticCode.InvalidOpArguments, $"{c.OpName} halves dim {axis} of {x.Type}, whose size {size} is odd");
        var half = x.Type.WithShape(x.Type.Shape.Select((d, i) => i == axis ? Dim.Of(size / 2) : d).ToArray());
        var halves = c.OpMulti("Split", [x, c.ConstInt64([size / 2, size / 2])], [half, half], ("axis", axis));
        return c.Op("Mul", [halves[0], c.Op("Sigmoid", [halves[1]], half)], half);
    }
}

/// <summary>
/// <c>softplus(x, beta=1, threshold=20) = log(1 + exp(beta·x))/beta</c>, and x itself where beta·x exceeds the
/// threshold (as torch; a small threshold makes that visible) → Softplus in a Where.
/// </summary>
[AtenOp("aten::softplus")]
internal static class Softplus
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var type = x.Type.ElementType;
        var beta = a.Float(1, "beta", 1);
        var scaled = beta == 1 ? x : c.Op("Mul", [x, c.Scalar(beta, type)], x.Type);
        var softplus = c.Op("Softplus", [scaled], x.Type);
        if (beta != 1) softplus = c.Op("Div", [softplus, c.Scalar(beta, type)], x.Type);
        var linear = c.Op("Greater", [scaled, c.Scalar(a.Float(2, "threshold", 20), type)], x.Type.WithElementType(DataType.Bool));
        return c.Op("Where", [linear, x, softplus], x.Type);
    }
}

/// <summary><c>mish(x) = x·tanh(softplus(x))</c>: ONNX Mish from opset 18, spelled out before.</summary>
[AtenOp("aten::mish", "aten::mish_"), Elementwise("Mish", FromOpset = 18)]
internal static class Mish
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        return c.Op("Mul", [x, c.Op("Tanh", [c.Op("Softplus", [x], x.Type)], x.Type)], x.Type);
    }
}

/// <summary>
/// <c>hardshrink(x, lambd)</c> (x where |x| &gt; lambd, else 0) and <c>softshrink(x, lambd)</c> (also moved toward 0 by
/// lambd) → Shrink with bias 0 or lambd.
/// </summary>
[AtenOp("aten::hardshrink", "aten::softshrink")]
internal static class Shrink
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var lambd = a.Float(1, "lambd", 0.5);
        var bias = c.OpName == "aten::softshrink" ? lambd : 0;
        return c.Op("Shrink", [a.Tensor(0)], a.Tensor(0).Type, ("lambd", lambd), ("bias", bias));
    }
}

/// <summary><c>threshold(x, threshold, value)</c> (nn.Threshold): x where x &gt; threshold, else value → Where.</summary>
[AtenOp("aten::threshold", "aten::threshold_")]
internal static class Threshold
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var type = x.Type.ElementType;
        var above = c.Op("Greater", [x, c.Scalar(a.Float(1, "threshold"), type)], x.Type.WithElementType(DataType.Bool));
        return c.Op("Where", [above, x, c.Scalar(a.Float(2, "value"), type)], x.Type);
    }
}

/// <summary><c>log_sigmoid(x) = −softplus(−x)</c>: log(sigmoid(x)) would give −inf for large negative x, torch gives x.</summary>
[AtenOp("aten::log_sigmoid")]
internal static class LogSigmoid
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        return c.Op("Neg", [c.Op("Softplus", [c.Op("Neg", [x], x.Type)], x.Type)], x.Type);
    }
}

/// <summary><c>rrelu(x, lower, upper, training)</c> in eval is leaky_relu with the mean slope (lower + upper)/2; training samples slopes.</summary>
[AtenOp("aten::rrelu", "aten::rrelu_")]
internal static class RRelu
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        if (a.Bool(3, "training", false))
            throw c.Error(DiagnosticCode.UnsupportedConstruct, "rrelu in training mode (random slopes) cannot be exported for inference",
                "call model.eval() before torch.jit.trace / torch.jit.script");
        var slope = (a.Float(1, "lower", 1.0 / 8) + a.Float(2, "upper", 1.0 / 3)) / 2;
        return c.Op("LeakyRelu", [a.Tensor(0)], a.Tensor(0).Type, ("alpha", slope));
    }
}
