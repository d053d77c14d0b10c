namespace ModelForge.Package;

/// <summary>Names shared by every bundle writer.</summary>
public static class PackageLayout
{
    /// <summary>The file name of the ONNX model inside a bundle (Triton's onnxruntime backend default).</summary>
    public const string OnnxFileName = "model.onnx";
}
