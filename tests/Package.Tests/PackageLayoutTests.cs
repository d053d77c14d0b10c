using ModelForge.Package;

namespace ModelForge.Package.Tests;

public class PackageLayoutTests
{
    [Fact]
    public void OnnxFileNameIsTritonsDefault() => Assert.Equal("model.onnx", PackageLayout.OnnxFileName);
}
