namespace ModelForge.Convert.Ops.Handlers;

/// <summary>
/// <c>torch.device("cpu")</c>, which traced factories (<c>zeros</c>, <c>arange</c>) pass as their device: the
/// device string itself. ONNX graphs have no devices, so every consumer ignores it.
/// </summary>
[AtenOp("aten::device")]
internal static class Device
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a) => a.String(0);
}
