using System.Buffers.Binary;
using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Quantized: PyTorch's eager-mode quantized ops (torch.ao.quantization convert, torchvision.models.quantization) in
// QDQ form. A quantized tensor flows through the graph as its dequantized float values (the output of a
// DequantizeLinear) with Value.Quantized naming its quantizer; each quantized op is its float op between the
// DequantizeLinear of its inputs and a QuantizeLinear → DequantizeLinear pair with the op's own output scale and zero
// point, weights as int8 initializers behind a DequantizeLinear (per channel with axis 0). ONNX Runtime fuses that
// form into QLinearConv, QGemm/QLinearMatMul, QLinearAdd, QLinearConcat.

/// <summary>The QDQ building blocks the quantized handlers share.</summary>
internal static class Qdq
{
    /// <summary>
    /// <paramref name="x"/> rounded to the grid of (scale, zero point) as PyTorch's quantized ops round their results:
    /// QuantizeLinear → DequantizeLinear, the result marked quantized.
    /// </summary>
    public static Value Requantize(OpContext c, Value x, double scale, long zeroPoint, DataType integerType)
    {
        if (integerType is not (DataType.Int8 or DataType.UInt8))
            throw c.Error(DiagnosticCode.UnsupportedDtype,
                $"{c.OpName} quantizes to {integerType.Name()}; ONNX QuantizeLinear below opset 21 gives int8 or uint8 only",
                "quantize activations to torch.quint8 or torch.qint8");
        var quantization = new Quantization([scale], [zeroPoint], -1, integerType);
        var (scaleValue, zeroPointValue) = Parameters(c, quantization);
        var quantized = c.Op("QuantizeLinear", [x, scaleValue, zeroPointValue], x.Type.WithElementType(integerType));
        var result = c.Op("DequantizeLinear", [quantized, scaleValue, zeroPointValue], x.Type.WithElementType(DataType.Float32));
        result.Quantized = quantization;
        return result;
    }

    /// <summary>Integer values (an initializer of quantized weights) as their float values: DequantizeLinear, per channel with its axis.</summary>
    public static Value Dequantize(OpContext c, Value integers, Quantization quantization)
    {
        var (scale, zeroPoint) = Parameters(c, quantization);
        var result = quantization.PerTensor
            ? c.Op("DequantizeLinear", [integers, scale, zeroPoint], integers.Type.WithElementType(DataType.Float32))
            : c.Op("DequantizeLinear", [integers, scale, zeroPoint], integers.Type.WithElementType(DataType.Float32), ("axis", (long)quantization.Axis));
        result.Quantized = quantization;
        return result;
    }

    /// <summary>The quantizer of a quantized op's tensor argument; a float tensor there is an error, as in PyTorch.</summary>
    public static Quantization Of(OpContext c, Value x, string what = "its input") =>
        x.Quantized ?? throw c.Error(DiagnosticCode.InvalidOpArguments,
            $"{c.OpName} expects {what} to be a quantized tensor, got a float {x.Type}",
            "quantize the tensor first (QuantStub / torch.quantize_per_tensor), as PyTorch itself requires");

    /// <summary>
    /// A float bias as int32 with scale input_scale × weight_scale and zero point 0 behind a DequantizeLinear, the form
    /// ONNX Runtime needs to fuse a QDQ convolution or Gemm. PyTorch's fbgemm kernels add the same rounded bias.
    /// </summary>
    public static Value? Bias(OpContext c, Value? bias, Quantization input, Quantization weight)
    {
        if (bias?.Constant is not { ElementType: DataType.Float32 } data) return bias;
        var floats = new float[data.ElementCount];
        for (var i = 0; i < floats.Length; i++) floats[i] = BinaryPrimitives.ReadSingleLittleEndian(data.Bytes.Span[(i * 4)..]);
        var scales = floats.Select((_, i) => input.Scales[0] * weight.Scales[weight.PerTensor ? 0 : i]).ToArray();
        var integers = floats.Select((b, i) => (int)Math.Clamp(Math.Round(b / (float)scales[i], MidpointRounding.ToEven), int.MinValue, int.MaxValue)).ToArray();
        var bytes = new byte[integers.Length * 4];
        for (var i = 0; i < integers.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * 4), integers[i]);
        var values = c.Constant(DataType.Int32, data.Shape, bytes, "bias_quantized");
        return Dequantize(c, values, new Quantization(scales, new long[scales.Length], 0, DataType.Int32));
    }

    /// <summary>The scale (float32) and zero point (the integer type) inputs of QuantizeLinear/DequantizeLinear.</summary>
    private static (Value Scale, Value ZeroPoint) Parameters(OpContext c, Quantization q)
    {
        if (q.PerTensor) return (c.Scalar(q.Scales[0], DataType.Float32), c.Scalar(q.ZeroPoints[0], q.IntegerType));
        var scaleBytes = new byte[q.Scales.Length * 4];
        for (var i = 0; i < q.Scales.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(scaleBytes.AsSpan(i * 4), (float)q.Scales[i]);
        var size = q.IntegerType.SizeInBytes();
        var zeroBytes = new byte[q.ZeroPoints.Length * size];
        for (var i = 0; i < q.ZeroPoints.Length; i++)
        {
            if (size == 4) BinaryPrimitives.WriteInt32LittleEndian(zeroBytes.AsSpan(i * 4), (int)q.ZeroPoints[i]);
            else zeroBytes[i] = (byte)q.ZeroPoints[i];
        }
        long[] shape = [q.Scales.Length];
        return (c.Constant(DataType.Float32, shape, scaleBytes, "scale"), c.Constant(q.IntegerType, shape, zeroBytes, "zero_point"));
    }

    /// <summary>A quantized op's packed-parameters argument (the conv or linear layer's weight and bias).</summary>
    public static PackedParams Packed(OpContext c, OpArgs a, int index) => a.Get(index) as PackedParams
        ?? throw c.Error(DiagnosticCode.InvalidOpArguments,
            $"{c.OpName} expects argument #{index + 1} to be packed parameters (a prepacked quantized layer), got {Interpreter.DescribeValue(a.Get(index))}",
            "this TorchScript call form is not supported yet; please report it with the model");

    /// <summary>The result of a quantized op: its float result (ReLU applied for the <c>_relu</c> forms) on the output grid.</summary>
    public static Value Output(OpContext c, Value y, OpArgs a, int scaleIndex, Quantization input)
    {
        if (c.OpName.EndsWith("_relu", StringComparison.Ordinal)) y = c.Op("Relu", [y], y.Type);
        return Requantize(c, y, a.Float(scaleIndex, "scale"), a.Int(scaleIndex + 1, "zero_point"), input.IntegerType);
    }
}

/// <summary>
/// <c>quantize_per_tensor(x, scale, zero_point, dtype)</c> (a QuantStub) → QuantizeLinear → DequantizeLinear;
/// dtype torch.quint8 (13) or torch.qint8 (12).
/// </summary>
[AtenOp("aten::quantize_per_tensor")]
internal static class QuantizePerTensor
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var integerType = a.Int(3, "dtype") switch
        {
            12 => DataType.Int8,
            13 => DataType.UInt8,
            14 => DataType.Int32,
            var other => throw c.Error(DiagnosticCode.UnsupportedDtype, $"{c.OpName} to the dtype numbered {other} is not a quantized dtype",
                "quantize to torch.quint8 or torch.qint8"),
        };
        return Qdq.Requantize(c, c.ToFloat(a.Tensor(0)), a.Float(1, "scale"), a.Int(2, "zero_point"), integerType);
    }
}

/// <summary><c>dequantize(x)</c> (a DeQuantStub): the float values are already in the graph, so an Identity that is no longer quantized.</summary>
[AtenOp("aten::dequantize")]
internal static class Dequantize
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        return c.Op("Identity", [x], x.Type);
    }
}

/// <summary><c>q_scale(x)</c> and <c>q_zero_point(x)</c> of a per-tensor quantized tensor: Python numbers known at conversion time.</summary>
[AtenOp("aten::q_scale", "aten::q_zero_point")]
internal static class QuantizerParameter
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var q = Qdq.Of(c, a.Tensor(0));
        if (!q.PerTensor) throw c.Error(DiagnosticCode.InvalidOpArguments, $"{c.OpName} of a per-channel quantized tensor", "PyTorch raises here too");
        return c.OpName == "aten::q_scale" ? (object)q.Scales[0] : q.ZeroPoints[0];
    }
}

/// <summary>
/// <c>quantized::conv2d_prepack(weight, bias, stride, padding, dilation, groups)</c> and <c>quantized::linear_prepack(weight, bias)</c>:
/// no node, the layer's packed parameters (what a quantized Conv2d's <c>__setstate__</c> and the archive's packed objects make).
/// </summary>
[AtenOp("quantized::conv2d_prepack", "quantized::linear_prepack")]
internal static class Prepack
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var weight = a.Tensor(0);
        Qdq.Of(c, weight, "its weight");
        if (c.OpName == "quantized::linear_prepack") return new PackedParams(weight, a.OptionalTensor(1), [], [], [], 1);
        return new PackedParams(weight, a.OptionalTensor(1), a.Ints(2, "stride", 2), a.Ints(3, "padding", 2), a.Ints(4, "dilation", 2), a.Int(5, "groups", 1));
    }
}

/// <summary>
/// <c>quantized::conv2d(x, packed, scale, zero_point)</c> and <c>conv2d_relu</c> → Conv on the dequantized input and
/// weight (per-channel DequantizeLinear), the bias as int32, ReLU, then the output's QuantizeLinear → DequantizeLinear.
/// </summary>
[AtenOp("quantized::conv2d", "quantized::conv2d_relu")]
internal static class QuantizedConv2d
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var input = Qdq.Of(c, x);
        var packed = Qdq.Packed(c, a, 1);
        var bias = Qdq.Bias(c, packed.Bias, input, Qdq.Of(c, packed.Weight, "its weight"));
        List<object?> Ints(long[] values) => values.Cast<object?>().ToList();
        var convolution = (Value)Convolution.V13(c, new OpArgs(c,
            [x, packed.Weight, bias, Ints(packed.Stride), Ints(packed.Padding), Ints(packed.Dilation), packed.Groups],
            new Dictionary<string, object?>()))!;
        return Qdq.Output(c, convolution, a, 2, input);
    }
}

/// <summary><c>quantized::linear(x, packed, scale, zero_point)</c> and <c>linear_relu</c> → Gemm (MatMul + Add above rank 2) in QDQ form.</summary>
[AtenOp("quantized::linear", "quantized::linear_relu")]
internal static class QuantizedLinear
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var input = Qdq.Of(c, x);
        var packed = Qdq.Packed(c, a, 1);
        var bias = Qdq.Bias(c, packed.Bias, input, Qdq.Of(c, packed.Weight, "its weight"));
        return Qdq.Output(c, Linear.Lower(c, x, packed.Weight, bias), a, 2, input);
    }
}

/// <summary><c>quantized::add(x, y, scale, zero_point)</c>, <c>add_relu</c> and <c>mul</c> (FloatFunctional/QFunctional) → Add/Mul in QDQ form.</summary>
[AtenOp("quantized::add", "quantized::add_relu", "quantized::mul")]
internal static class QuantizedBinary
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var input = Qdq.Of(c, x);
        Qdq.Of(c, a.Tensor(1), "its second operand");
        var y = (Value)Binary.Lower(c, c.OpName == "quantized::mul" ? "Mul" : "Add", x, a.Tensor(1));
        return Qdq.Output(c, y, a, 2, input);
    }
}

/// <summary><c>quantized::cat(tensors, dim, scale, zero_point)</c> → Concat, requantized to the output's grid.</summary>
[AtenOp("quantized::cat")]
internal static class QuantizedCat
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var tensors = a.Tensors(0);
        var input = Qdq.Of(c, tensors[0]);
        foreach (var t in tensors) Qdq.Of(c, t, "every tensor it joins");
        var joined = Cat.Lower(c, tensors, Shapes.NormalizeAxis(a.Int(1, "dim", 0), tensors[0].Type.Rank));
        return Qdq.Output(c, joined, a, 2, input);
    }
}

/// <summary><c>quantized::hardswish(x, scale, zero_point)</c> → HardSwish (spelled out below opset 14), requantized.</summary>
[AtenOp("quantized::hardswish")]
internal static class QuantizedHardswish
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        return Qdq.Output(c, Hardswish.Lower(c, x), a, 1, Qdq.Of(c, x));
    }
}

/// <summary>
/// <c>fake_quantize_per_tensor_affine(x, scale, zero_point, quant_min, quant_max)</c> and
/// <c>fake_quantize_per_channel_affine(x, scale, zero_point, axis, quant_min, quant_max)</c> (quantization-aware training's
/// observers, left in a traced QAT model): x rounded to the grid and clamped to [quant_min, quant_max]. The uint8 and
/// int8 ranges → QuantizeLinear → DequantizeLinear, which ONNX Runtime fuses with the ops around them; any other range
/// (4-bit, say) is spelled out as torch computes it: (clamp(round(x / scale) + zero_point) − zero_point) · scale.
/// </summary>
[AtenOp("aten::fake_quantize_per_tensor_affine", "aten::fake_quantize_per_channel_affine")]
internal static class FakeQuantize
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var perChannel = c.OpName == "aten::fake_quantize_per_channel_affine";
        var rangeAt = perChannel ? 4 : 3;
        var (low, high) = (a.Int(rangeAt, "quant_min"), a.Int(rangeAt + 1, "quant_max"));
        var axis = perChannel ? Shapes.NormalizeAxis(a.Int(3, "axis"), x.Type.Rank) : -1;
        var scale = Parameter(c, a.Get(1, "scale"), x.Type.ElementType, perChannel);
        var zeroPoint = a.Get(2, "zero_point");
        DataType? integers = (low, high) switch { (0, 255) => DataType.UInt8, (-128, 127) => DataType.Int8, _ => null };
        if (integers is { } integerType)
        {
            var point = Parameter(c, zeroPoint, integerType, perChannel);
            var attributes = perChannel ? new (string, AttributeValue)[] { ("axis", axis) } : [];
            var quantized = c.Op("QuantizeLinear", [x, scale, point], x.Type.WithElementType(integerType), attributes);
            return c.Op("DequantizeLinear", [quantized, scale, point], x.Type, attributes);
        }
        // Per channel, the parameters broadcast along axis: [C, 1, …] for the dims after it.
        Value AlongAxis(Value parameter) => perChannel
            ? c.Op("Reshape", [parameter, c.ConstInt64([-1, .. Enumerable.Repeat(1L, x.Type.Rank - 1 - axis)])], parameter.Type.WithShape(null))
            : parameter;
        var (step, offset) = (AlongAxis(scale), AlongAxis(Parameter(c, zeroPoint, x.Type.ElementType, perChannel)));
        var type = x.Type.ElementType;
        var level = c.Op("Add", [c.Op("Round", [c.Op("Div", [x, step], x.Type)], x.Type), offset], x.Type);
        var clamped = c.Op("Clip", [level, c.Scalar(low, type), c.Scalar(high, type)], x.Type);
        return c.Op("Mul", [c.Op("Sub", [clamped, offset], x.Type), step], x.Type);
    }

    /// <summary>A scale or zero point (a number, or a tensor of one element or one per channel) as a 0-d or 1-D tensor of <paramref name="type"/>.</summary>
    private static Value Parameter(OpContext c, object? value, DataType type, bool perChannel)
    {
        var tensor = c.Cast(c.AsTensor(value, type), type);
        return perChannel || tensor.Type.Shape is { Count: 0 } ? tensor : Item.Scalar(c, tensor);
    }
}
