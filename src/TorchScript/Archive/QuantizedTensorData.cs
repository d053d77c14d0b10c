using ModelForge.Core.Diagnostics;
using ModelForge.Model;

namespace ModelForge.TorchScript.Archive;

/// <summary>
/// A quantized tensor of PyTorch's eager-mode quantization, as <c>torch._utils._rebuild_qtensor</c> describes it: the
/// integer elements (<see cref="Values"/>: int8 for qint8, uint8 for quint8, int32 for qint32) and an affine quantizer,
/// real = (q − zero_point) × scale, per tensor (<see cref="Axis"/> −1, one scale) or per channel along <see cref="Axis"/>.
/// </summary>
public sealed class QuantizedTensorData
{
    public QuantizedTensorData(TensorData values, double[] scales, long[] zeroPoints, int axis, string? location = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(scales);
        ArgumentNullException.ThrowIfNull(zeroPoints);
        var where = location ?? values.ToString();
        if (values.DataType is not (DataType.Int8 or DataType.UInt8 or DataType.Int32))
            throw Invalid(where, $"has {values.DataType.Name()} elements; quantized tensors hold qint8, quint8 or qint32");
        if (scales.Length != zeroPoints.Length || scales.Length == 0)
            throw Invalid(where, $"has {scales.Length} scales and {zeroPoints.Length} zero points");
        if (axis < 0 ? scales.Length != 1 : axis >= values.Shape.Length || values.Shape[axis] != scales.Length)
            throw Invalid(where, axis < 0
                ? $"is quantized per tensor with {scales.Length} scales"
                : $"is quantized per channel along axis {axis} with {scales.Length} scales, but its shape is [{string.Join(", ", values.Shape)}]");
        if (scales.Any(s => !double.IsFinite(s) || s <= 0))
            throw Invalid(where, "has a scale that is not a positive finite number");
        var (min, max) = values.DataType switch
        {
            DataType.Int8 => (sbyte.MinValue, sbyte.MaxValue),
            DataType.UInt8 => (byte.MinValue, byte.MaxValue),
            _ => ((long)int.MinValue, (long)int.MaxValue),
        };
        if (zeroPoints.Any(z => z < min || z > max))
            throw Invalid(where, $"has a zero point outside the range of {values.DataType.Name()}");
        Values = values;
        Scales = scales;
        ZeroPoints = zeroPoints;
        Axis = axis;
    }

    /// <summary>The integer elements, as stored.</summary>
    public TensorData Values { get; }

    /// <summary>One scale per tensor, or one per channel of <see cref="Axis"/>.</summary>
    public double[] Scales { get; }

    public long[] ZeroPoints { get; }

    /// <summary>The channel axis of a per-channel quantizer; −1 for per tensor.</summary>
    public int Axis { get; }

    public long[] Shape => Values.Shape;

    public override string ToString() =>
        $"quantized tensor {Values.DataType.Name()}[{string.Join(", ", Shape)}] ({(Axis < 0 ? "per tensor" : $"per channel, axis {Axis}")})";

    private static ModelForgeException Invalid(string where, string what) =>
        new(DiagnosticCode.TensorStorageInvalid, $"quantized tensor {where} {what}", null,
            "the archive is damaged or was edited; save the quantized model again with torch.jit.save");
}
