namespace ModelForge.Package.Triton;

/// <summary>ONNX element types (<c>TensorProto.DataType</c>) to Triton's <c>TYPE_*</c> names (onnxruntime_utils.cc mapping).</summary>
internal static class TritonDataTypes
{
    public static string? FromOnnx(int elementType) => elementType switch
    {
        1 => "TYPE_FP32",
        2 => "TYPE_UINT8",
        3 => "TYPE_INT8",
        4 => "TYPE_UINT16",
        5 => "TYPE_INT16",
        6 => "TYPE_INT32",
        7 => "TYPE_INT64",
        8 => "TYPE_STRING",
        9 => "TYPE_BOOL",
        10 => "TYPE_FP16",
        11 => "TYPE_FP64",
        12 => "TYPE_UINT32",
        13 => "TYPE_UINT64",
        16 => "TYPE_BF16",
        _ => null,
    };
}
