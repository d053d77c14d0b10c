using System.Runtime.Intrinsics.X86;

namespace ModelForge.Optimize.Int8;

/// <summary>The activation element type of the QDQ model: uint8 (asymmetric, U8S8 kernels) or int8 (asymmetric, S8S8 kernels).</summary>
public enum ActivationType
{
    UInt8,
    Int8,
}

/// <summary>
/// The integer formats a static int8 model is written in, chosen for the CPU it is built on. ONNX Runtime's
/// quantization guide: on x86-64 without VNNI (AVX2, AVX-512F) the U8S8 kernels use VPMADDUBSW, whose 16-bit
/// intermediate sums can saturate; <c>reduce_range</c> (7-bit weights, [-64, 64]) is the mitigation it recommends
/// there, and it is "not needed on machines supporting VNNI". ModelForge keeps U8S8 (uint8 activations, int8 weights),
/// the format ORT's x86 integer kernels (QLinearConv, QGemm, MatMulInteger) are fastest in, and reduces the weight
/// range only where the CPU has no VNNI.
/// </summary>
public sealed record QuantizationFormat(ActivationType Activations, bool ReduceRange, string Reason)
{
    /// <summary>The format for this machine: <see cref="CpuHasVnni"/> decides <see cref="ReduceRange"/>.</summary>
    public static QuantizationFormat ForThisCpu()
    {
        if (!X86Base.IsSupported)
            return new(ActivationType.UInt8, false, "not an x86-64 CPU: ONNX Runtime's U8S8 kernels do not saturate here, so weights use the full int8 range");
        return CpuHasVnni()
            ? new(ActivationType.UInt8, false, "the CPU has VNNI (avx512_vnni/avx_vnni): U8S8 without reduce_range, as ONNX Runtime recommends")
            : new(ActivationType.UInt8, true, "the CPU has no VNNI: U8S8 with reduce_range (7-bit weights) against VPMADDUBSW saturation, as ONNX Runtime recommends");
    }

    /// <summary>AVX-VNNI as .NET reports it, or avx512_vnni / avx_vnni among /proc/cpuinfo's flags.</summary>
    public static bool CpuHasVnni()
    {
        if (AvxVnni.IsSupported) return true;
        try
        {
            return File.ReadLines("/proc/cpuinfo")
                .Where(line => line.StartsWith("flags", StringComparison.Ordinal))
                .Take(1)
                .Any(line => line.Split(' ', ':', '\t').Any(flag => flag is "avx512_vnni" or "avx_vnni"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The largest |q| of a per-channel symmetric int8 weight: 127, or 64 with <see cref="ReduceRange"/> (ORT's qrange).</summary>
    public int WeightLimit => ReduceRange ? 64 : 127;

    public (int Min, int Max) ActivationLimits => Activations == ActivationType.UInt8 ? (0, 255) : (-128, 127);
}

/// <summary>A per-tensor scale and zero point.</summary>
public readonly record struct QuantParams(float Scale, int ZeroPoint)
{
    /// <summary>
    /// Asymmetric parameters over <paramref name="range"/> widened to hold 0 (zero padding must be exact):
    /// scale = (max − min) / (qmax − qmin), zero point = round(qmin − min / scale). An all-zero range gets scale 1.
    /// </summary>
    public static QuantParams Asymmetric(ActivationRange range, (int Min, int Max) limits)
    {
        var min = Math.Min(range.Min, 0f);
        var max = Math.Max(range.Max, 0f);
        if (max - min <= 0) return new QuantParams(1f, limits.Min < 0 ? 0 : limits.Min);
        var scale = (max - min) / (limits.Max - limits.Min);
        var zeroPoint = (int)Math.Clamp(Math.Round(limits.Min - min / scale, MidpointRounding.ToEven), limits.Min, limits.Max);
        return new QuantParams(scale, zeroPoint);
    }
}
