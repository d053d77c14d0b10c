using System.Runtime.InteropServices;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

/// <summary>
/// <c>aten::batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled)</c>
/// in eval mode → BatchNormalization. Without affine parameters the scale is ones and the bias zeros.
/// </summary>
[AtenOp("aten::batch_norm")]
internal static class BatchNorm
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var input = a.Tensor(0);
        var mean = a.OptionalTensor(3);
        var variance = a.OptionalTensor(4);
        if (a.Bool(5, "training") || mean is null || variance is null)
            throw c.Error(DiagnosticCode.UnsupportedConstruct,
                "batch_norm in training mode (batch statistics) cannot be exported for inference",
                "call model.eval() before torch.jit.trace / torch.jit.script");
        var channels = mean.Type.StaticShape()[0];
        var type = mean.Type.ElementType;
        var scale = a.OptionalTensor(1) ?? Filled(c, channels, 1f, type, "ones");
        var bias = a.OptionalTensor(2) ?? Filled(c, channels, 0f, type, "zeros");
        return c.Op("BatchNormalization", [input, scale, bias, mean, variance], input.Type, ("epsilon", a.Float(7, "eps")));
    }

    private static Value Filled(OpContext c, long count, float value, DataType type, string name)
    {
        var floats = Enumerable.Repeat(value, (int)count).ToArray();
        var bytes = type == DataType.Float32 ? MemoryMarshal.AsBytes(floats.AsSpan()).ToArray()
            : throw c.Error(DiagnosticCode.UnsupportedDtype, $"batch_norm without affine parameters in {type.Name()} is not supported yet");
        return c.Constant(type, [count], bytes, name);
    }
}
