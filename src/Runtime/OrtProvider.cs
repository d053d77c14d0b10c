namespace ModelForge.Runtime;

/// <summary>The ONNX Runtime execution providers ModelForge opens sessions with.</summary>
public enum OrtProvider
{
    Cpu,
    Cuda,
    TensorRt,
}

public static class OrtProviderExtensions
{
    /// <summary>The provider's name as ONNX Runtime spells it (<c>CUDAExecutionProvider</c>, …).</summary>
    public static string ExecutionProviderName(this OrtProvider provider) => provider switch
    {
        OrtProvider.Cpu => "CPUExecutionProvider",
        OrtProvider.Cuda => "CUDAExecutionProvider",
        _ => "TensorrtExecutionProvider",
    };

    /// <summary>The provider's shared library in the ONNX Runtime package (null for the built-in CPU provider).</summary>
    internal static string? LibraryFile(this OrtProvider provider) => provider switch
    {
        OrtProvider.Cpu => null,
        OrtProvider.Cuda => "libonnxruntime_providers_cuda.so",
        _ => "libonnxruntime_providers_tensorrt.so",
    };
}
